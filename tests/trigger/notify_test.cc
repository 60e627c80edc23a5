// Bucket notifications: every accepted format, malformed bodies, and the HTTP listener over a raw
// socket (status codes, token, size limit, concurrency, Stop).
#include "trigger/notify.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "testing/status_matchers.h"

namespace binlake::trigger {
namespace {

std::vector<ObjectEvent> ParseOk(std::string_view body, std::string* note = nullptr) {
  auto r = ParseNotification(body, note);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : std::vector<ObjectEvent>{};
}

Status ParseError(std::string_view body) {
  auto r = ParseNotification(body);
  EXPECT_FALSE(r.ok()) << "parsed: " << body;
  return r.status();
}

// The example message of AWS's "Event message structure" page (version 2.1), with the values of
// its ObjectCreated:Put example filled in.
constexpr std::string_view kAwsExample = R"({
   "Records":[
      {
         "eventVersion":"2.1",
         "eventSource":"aws:s3",
         "awsRegion":"us-west-2",
         "eventTime":"1970-01-01T00:00:00.000Z",
         "eventName":"ObjectCreated:Put",
         "userIdentity":{
            "principalId":"AIDAJDPLRKLG7UEXAMPLE"
         },
         "requestParameters":{
            "sourceIPAddress":"172.16.0.1"
         },
         "responseElements":{
            "x-amz-request-id":"C3D13FE58DE4C810",
            "x-amz-id-2":"FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"
         },
         "s3":{
            "s3SchemaVersion":"1.0",
            "configurationId":"testConfigRule",
            "bucket":{
               "name":"amzn-s3-demo-bucket",
               "ownerIdentity":{
                  "principalId":"A3NL1KOZZKExample"
               },
               "arn":"arn:aws:s3:::amzn-s3-demo-bucket"
            },
            "object":{
               "key":"HappyFace.jpg",
               "size":1024,
               "eTag":"d41d8cd98f00b204e9800998ecf8427e",
               "versionId":"096fKKXTRTtl3on89fVO.nfljtsv6qko",
               "sequencer":"0055AED6DCD90281E5"
            }
         }
      }
   ]
})";

TEST(ParseNotificationTest, AwsDocumentedExample) {
  auto events = ParseOk(kAwsExample);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].bucket, "amzn-s3-demo-bucket");
  EXPECT_EQ(events[0].key, "HappyFace.jpg");
  EXPECT_EQ(events[0].event_name, "ObjectCreated:Put");
  EXPECT_EQ(events[0].size, 1024u);
}

TEST(ParseNotificationTest, SeveralRecordsWithFormEncodedKeys) {
  auto events = ParseOk(R"({"Records":[
    {"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put",
     "s3":{"bucket":{"name":"b"},"object":{"key":"s%2Ft%2FLOAD00000001.csv","size":12}}},
    {"eventVersion":"2.2","eventSource":"aws:s3","eventName":"ObjectCreated:CompleteMultipartUpload",
     "s3":{"bucket":{"name":"b"},"object":{"key":"red+flower%2B%25%3A%C3%BC.jpg","size":3}}},
    {"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Copy",
     "s3":{"bucket":{"name":"b2"},"object":{"key":"plain"}}}]})");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].key, "s/t/LOAD00000001.csv");
  EXPECT_EQ(events[0].size, 12u);
  EXPECT_EQ(events[1].key, "red flower+%:\xC3\xBC.jpg");
  EXPECT_EQ(events[1].event_name, "ObjectCreated:CompleteMultipartUpload");
  EXPECT_EQ(events[2].bucket, "b2");
  EXPECT_EQ(events[2].size, 0u);  // absent
}

TEST(ParseNotificationTest, OnlyCreationsAreEvents) {
  auto events = ParseOk(R"({"Records":[
    {"eventVersion":"2.1","eventName":"ObjectRemoved:Delete",
     "s3":{"bucket":{"name":"b"},"object":{"key":"gone"}}},
    {"eventVersion":"2.3","eventName":"ObjectTagging:Put",
     "s3":{"bucket":{"name":"b"},"object":{"key":"tagged","size":1}}},
    {"eventVersion":"2.1","eventName":"ObjectCreated:Post",
     "s3":{"bucket":{"name":"b"},"object":{"key":"new","size":1}}}]})");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].key, "new");
  EXPECT_TRUE(ParseOk(R"({"Records":[]})").empty());
}

// MinIO's webhook body: the S3 records plus a top-level EventName and (decoded) Key.
TEST(ParseNotificationTest, MinioWebhook) {
  auto events = ParseOk(R"({
    "EventName": "s3:ObjectCreated:Put",
    "Key": "mybucket/5cdfb588cea4de1db3034a87/colors 1.xml",
    "Records": [{
      "eventVersion": "2.0", "eventSource": "minio:s3", "awsRegion": "",
      "eventTime": "2019-05-18T07:34:32Z", "eventName": "s3:ObjectCreated:Put",
      "userIdentity": {"principalId": "minio"},
      "requestParameters": {"accessKey": "minio", "region": "", "sourceIPAddress": "172.18.0.1"},
      "responseElements": {"x-amz-request-id": "159FB6B233B08AF0"},
      "s3": {"s3SchemaVersion": "1.0", "configurationId": "Config",
             "bucket": {"name": "mybucket", "ownerIdentity": {"principalId": "minio"},
                        "arn": "arn:aws:s3:::mybucket"},
             "object": {"key": "5cdfb588cea4de1db3034a87%2Fcolors+1.xml", "size": 1519,
                        "eTag": "c3b5c7a3e7d6e1e0e6b3a1f0f0f0f0f0",
                        "contentType": "text/xml", "sequencer": "159FB6B23A2F5AFA"}},
      "source": {"host": "172.18.0.1", "port": "", "userAgent": "MinIO/RELEASE.2019-05-14T23-57-45Z"
}
}]
})");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].bucket, "mybucket");
  EXPECT_EQ(events[0].key, "5cdfb588cea4de1db3034a87/colors 1.xml");
  EXPECT_EQ(events[0].event_name, "s3:ObjectCreated:Put");
  EXPECT_EQ(events[0].size, 1519u);
}

TEST(ParseNotificationTest, S3TestEventGivesNoEvents) {
  EXPECT_TRUE(ParseOk(R"({"Service":"Amazon S3","Event":"s3:TestEvent",
    "Time":"2014-10-13T15:57:02.089Z","Bucket":"amzn-s3-demo-bucket",
    "RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"})")
                  .empty());
}

std::string SnsEnvelope(std::string_view type, std::string_view message_json) {
  std::string quoted = nlohmann::json(std::string(message_json)).dump();
  return R"({"Type":")" + std::string(type) +
         R"(","MessageId":"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",)"
         R"("TopicArn":"arn:aws:sns:us-west-2:123456789012:MyTopic","Subject":"Amazon S3 Notification",)"
         R"("Message":)" +
         quoted +
         R"(,"Timestamp":"2012-05-02T00:54:06.655Z","SignatureVersion":"1","Signature":"EXAMPLE",)"
         R"("SigningCertURL":"https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",)"
         R"("UnsubscribeURL":"https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe"})";
}

TEST(ParseNotificationTest, SnsNotificationWrapsS3Events) {
  auto events = ParseOk(SnsEnvelope("Notification", kAwsExample));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].key, "HappyFace.jpg");
  EXPECT_TRUE(
      ParseOk(SnsEnvelope("Notification", R"({"Service":"Amazon S3","Event":"s3:TestEvent"})"))
          .empty());
}

TEST(ParseNotificationTest, SnsSubscriptionConfirmationIsANote) {
  std::string note;
  auto events = ParseOk(R"({"Type":"SubscriptionConfirmation",
    "MessageId":"165545c9-2a5c-472c-8df2-7ff2be2b3b1b","Token":"2336412f37f",
    "TopicArn":"arn:aws:sns:us-west-2:123456789012:MyTopic",
    "Message":"You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.",
    "SubscribeURL":"https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37f",
    "Timestamp":"2012-04-26T20:45:04.751Z","SignatureVersion":"1","Signature":"EXAMPLE",
    "SigningCertURL":"https://sns.us-west-2.amazonaws.com/x.pem"})",
                        &note);
  EXPECT_TRUE(events.empty());
  EXPECT_NE(note.find("confirm"), std::string::npos) << note;
  EXPECT_NE(note.find("https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn="),
            std::string::npos)
      << note;
}

TEST(ParseNotificationTest, SnsErrors) {
  EXPECT_EQ(ParseError(R"({"Type":"Notification"})").code(), StatusCode::kCorruption);
  Status s = ParseError(R"({"Type":"Notification","Message":"not json"})");
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("SNS Message is not JSON"), std::string::npos) << s.ToString();
  // An envelope inside an envelope is not a notification.
  EXPECT_EQ(
      ParseError(SnsEnvelope("Notification", SnsEnvelope("Notification", kAwsExample))).code(),
      StatusCode::kNotSupported);
}

// The "Object Created" example of AWS's "EventBridge event message structure" page. Its keys are
// not URL-encoded.
TEST(ParseNotificationTest, EventBridgeObjectCreated) {
  auto events = ParseOk(R"({
    "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103",
    "detail-type": "Object Created", "source": "aws.s3", "account": "111122223333",
    "time": "2021-11-12T00:00:00Z", "region": "ca-central-1",
    "resources": ["arn:aws:s3:::amzn-s3-demo-bucket1"],
    "detail": {
      "version": "0",
      "bucket": {"name": "amzn-s3-demo-bucket1"},
      "object": {"key": "example-key+1%20:2", "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184",
                 "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e", "sequencer": "617f08299329d189"},
      "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012",
      "source-ip-address": "1.2.3.4", "reason": "PutObject"}})");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].bucket, "amzn-s3-demo-bucket1");
  EXPECT_EQ(events[0].key, "example-key+1%20:2");
  EXPECT_EQ(events[0].event_name, "Object Created");
  EXPECT_EQ(events[0].size, 5u);

  EXPECT_TRUE(ParseOk(R"({"version":"0","detail-type":"Object Deleted","source":"aws.s3",
    "detail":{"bucket":{"name":"b"},"object":{"key":"k"},"reason":"DeleteObject"}})")
                  .empty());
  EXPECT_EQ(ParseError(R"({"detail-type":"Object Created","source":"aws.s3","detail":{}})").code(),
            StatusCode::kCorruption);
}

// Bodies SeaweedFS 7506e5f91cd6 posted (S3 PUTs through its gateway; "extended" shortened).
constexpr std::string_view kSeaweedCreate =
    R"({"event_type":"create","key":"/buckets/nbucket/a b%c+d.csv","message":{"new_entry":{"name":"a b%c+d.csv","chunks":[{"size":6,"modified_ts_ns":1795595602774303427,"e_tag":"sZRqySSS0jR8YjW00mERhA==","fid":{"volume_id":7,"file_key":2,"cookie":1003025011}}],"attributes":{"file_size":6,"mtime":1795595602,"file_mode":432,"crtime":1795595602,"mime":"application/x-www-form-urlencoded","md5":"sZRqySSS0jR8YjW00mERhA==","inode":8603372629996781720,"ctime":1795595602,"atime":1795595602},"extended":{"Seaweed-X-Amz-Owner":"YmlubGFrZQ=="},"commit_ts_ns":1795595602774822866},"delete_chunks":true,"new_parent_path":"/buckets/nbucket","signatures":[-893641358]}})";
constexpr std::string_view kSeaweedUpdate =
    R"({"event_type":"update","key":"/buckets/nbucket/s/t/LOAD00000001.csv","message":{"old_entry":{"name":"LOAD00000001.csv","attributes":{"file_size":6}},"new_entry":{"name":"LOAD00000001.csv","chunks":[{"size":7}],"attributes":{"file_size":7,"mtime":1795595602,"file_mode":432}},"delete_chunks":true,"new_parent_path":"/buckets/nbucket/s/t","signatures":[-893641358]}})";
constexpr std::string_view kSeaweedDirectory =
    R"({"event_type":"create","key":"/buckets/nbucket/s","message":{"new_entry":{"name":"s","is_directory":true,"attributes":{"mtime":1795595602,"file_mode":2147484153,"crtime":1795595602,"inode":4886889243389960584,"ctime":-62135596800,"mtime_ns":762930575},"commit_ts_ns":1795595602762931336},"new_parent_path":"/buckets/nbucket","signatures":[-893641358]}})";
constexpr std::string_view kSeaweedSystem =
    R"({"event_type":"create","key":"/buckets/.system/owners/binlake/nbucket","message":{"new_entry":{"name":"nbucket","attributes":{"mtime":1795595597,"file_mode":504}},"delete_chunks":true,"new_parent_path":"/buckets/.system/owners/binlake","signatures":[-893641358]}})";

TEST(ParseNotificationTest, SeaweedFilerEvents) {
  auto created = ParseOk(kSeaweedCreate);
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].bucket, "nbucket");
  EXPECT_EQ(created[0].key, "a b%c+d.csv");  // filer paths are not encoded
  EXPECT_EQ(created[0].event_name, "create");
  EXPECT_EQ(created[0].size, 6u);

  auto updated = ParseOk(kSeaweedUpdate);
  ASSERT_EQ(updated.size(), 1u);
  EXPECT_EQ(updated[0].key, "s/t/LOAD00000001.csv");
  EXPECT_EQ(updated[0].event_name, "update");
  EXPECT_EQ(updated[0].size, 7u);

  EXPECT_TRUE(ParseOk(kSeaweedDirectory).empty());
  EXPECT_TRUE(ParseOk(kSeaweedSystem).empty());
  // The bucket folder itself, a path outside /buckets/, an unfinished multipart part, a delete.
  EXPECT_TRUE(ParseOk(R"({"event_type":"create","key":"/buckets/nb",
    "message":{"new_entry":{"name":"nb","is_directory":true},"new_parent_path":"/buckets"}})")
                  .empty());
  EXPECT_TRUE(ParseOk(R"({"event_type":"create","key":"/home/x",
    "message":{"new_entry":{"name":"x"},"new_parent_path":"/home"}})")
                  .empty());
  EXPECT_TRUE(ParseOk(R"({"event_type":"create","key":"/buckets/nb/.uploads/u1/0001_1.part",
    "message":{"new_entry":{"name":"0001_1.part"},"new_parent_path":"/buckets/nb/.uploads/u1"}})")
                  .empty());
  EXPECT_TRUE(ParseOk(R"({"event_type":"delete","key":"/buckets/nb/k",
    "message":{"old_entry":{"name":"k"},"delete_chunks":true}})")
                  .empty());
}

// A rename's event key is the old path; the new one is new_parent_path + new_entry.name.
TEST(ParseNotificationTest, SeaweedRenameUsesTheNewPath) {
  auto events = ParseOk(R"({"event_type":"rename","key":"/buckets/nb/tmp/x.part",
    "message":{"old_entry":{"name":"x.part"},"new_entry":{"name":"LOAD00000002.csv",
    "attributes":{"file_size":9}},"new_parent_path":"/buckets/nb/s/t/"}})");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].bucket, "nb");
  EXPECT_EQ(events[0].key, "s/t/LOAD00000002.csv");
  EXPECT_EQ(events[0].size, 9u);
}

TEST(ParseNotificationTest, MalformedBodies) {
  struct Case {
    std::string body;
    StatusCode code;
    std::string says;
  };
  std::vector<Case> cases = {
      {"", StatusCode::kCorruption, "not JSON"},
      {"Records=1", StatusCode::kCorruption, "not JSON (byte 1)"},
      {R"({"Records":[)", StatusCode::kCorruption, "not JSON"},
      {"[1,2]", StatusCode::kCorruption, "not a JSON object"},
      {R"({"hello":"world"})", StatusCode::kNotSupported, "not a known notification"},
      {R"({"Records":{"s3":{}}})", StatusCode::kCorruption, "Records is not an array"},
      {R"({"Records":[7]})", StatusCode::kCorruption, "Records[0] is not an object"},
      {R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{}}}]})",
       StatusCode::kCorruption, "Records[0]: no s3.object.key"},
      {R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"object":{"key":"k"}}}]})",
       StatusCode::kCorruption, "Records[0]: no s3.bucket.name"},
      {R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":5}}}]})",
       StatusCode::kCorruption, "s3.object.key not a string"},
      {R"({"Records":[{"s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]})",
       StatusCode::kCorruption, "no eventName"},
      {R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"a%zzb"}}}]})",
       StatusCode::kCorruption, "Records[0]: bad %-escape at byte 1 of the key"},
      {R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"ab%2"}}}]})",
       StatusCode::kCorruption, "bad %-escape at byte 2"},
      {R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"ab%"}}}]})",
       StatusCode::kCorruption, "bad %-escape"},
      {R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k","size":-1}}}]})",
       StatusCode::kCorruption, "size not a non-negative integer"},
      {R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k","size":"12"}}}]})",
       StatusCode::kCorruption, "size not a non-negative integer"},
      {R"({"Records":[{"eventVersion":"3.0","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]})",
       StatusCode::kNotSupported, "eventVersion is not 2.x"},
      {R"({"event_type":"create","key":"/buckets/b/k","message":"x"})", StatusCode::kCorruption,
       "SeaweedFS event: message is not an object"},
  };
  for (const Case& c : cases) {
    Status s = ParseError(c.body);
    EXPECT_EQ(s.code(), c.code) << c.body << " -> " << s.ToString();
    EXPECT_NE(s.message().find(c.says), std::string::npos) << c.body << " -> " << s.ToString();
  }
}

// A bad record fails the whole body (400), even after good records.
TEST(ParseNotificationTest, OneBadRecordFailsTheBody) {
  Status s = ParseError(R"({"Records":[
    {"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"ok"}}},
    {"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"%G0"}}}]})");
  EXPECT_NE(s.message().find("Records[1]: bad %-escape"), std::string::npos) << s.ToString();
}

TEST(ParseNotificationTest, ErrorsDoNotEchoTheBody) {
  Status s = ParseError(R"({"password":"hunter2-SECRET")");
  EXPECT_EQ(s.message().find("SECRET"), std::string::npos) << s.ToString();
  s = ParseError(R"({"Records":[{"eventVersion":"SECRET-SECRET-SECRET-SECRET"}]})");
  EXPECT_EQ(s.message().find("SECRET-SECRET-SECRET"), std::string::npos) << s.ToString();
}

TEST(ParseNotificationTest, DeepNestingDoesNotCrash) {
  std::string deep(200000, '[');
  EXPECT_EQ(ParseError(deep).code(), StatusCode::kCorruption);
  deep += std::string(200000, ']');
  EXPECT_EQ(ParseError(deep).code(), StatusCode::kCorruption);
  Status s =
      ParseError(R"({"Records":)" + std::string(100000, '[') + std::string(100000, ']') + "}");
  EXPECT_NE(s.message().find("Records[0] is not an object"), std::string::npos) << s.ToString();
}

// A minimal HTTP/1.1 client over a raw socket, so tests control every byte.
struct HttpReply {
  int status = 0;
  std::string raw;
};

HttpReply RawHttp(uint16_t port, const std::string& request) {
  HttpReply reply;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return reply;
  }
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (413) and close before reading everything
    sent += static_cast<size_t>(n);
  }
  char buf[4096];
  ssize_t n;
  // Until the server closes, or the whole Content-Length arrived (it may keep the connection).
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) {
    reply.raw.append(buf, static_cast<size_t>(n));
    size_t end = reply.raw.find("\r\n\r\n");
    size_t cl = reply.raw.find("Content-Length: ");
    if (end != std::string::npos && cl != std::string::npos && cl < end &&
        reply.raw.size() >= end + 4 + std::stoul(reply.raw.substr(cl + 16)) &&
        request.rfind("HEAD ", 0) != 0) {
      break;
    }
  }
  ::close(fd);
  if (reply.raw.rfind("HTTP/1.1 ", 0) == 0) reply.status = std::stoi(reply.raw.substr(9, 3));
  return reply;
}

HttpReply Post(uint16_t port, std::string_view body, const std::string& extra_headers = "",
               const std::string& path = "/") {
  return RawHttp(port, "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                           extra_headers + "Content-Length: " + std::to_string(body.size()) +
                           "\r\n\r\n" + std::string(body));
}

class NotificationServerTest : public ::testing::Test {
 protected:
  void StartServer(NotificationServerOptions options = {}) {
    auto server = NotificationServer::Start(
        std::move(options),
        [this](const ObjectEvent& e) {
          std::lock_guard<std::mutex> lock(mu_);
          events_.push_back(e);
        },
        [this](const std::string& line) {
          std::lock_guard<std::mutex> lock(mu_);
          log_.push_back(line);
        });
    ASSERT_OK(server);
    server_ = std::move(server).value();
    ASSERT_NE(server_->port(), 0);
  }
  std::vector<ObjectEvent> Events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::string Log() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string all;
    for (const auto& l : log_) all += l + "\n";
    return all;
  }

  std::mutex mu_;
  std::vector<ObjectEvent> events_;
  std::vector<std::string> log_;
  std::unique_ptr<NotificationServer> server_;
};

TEST_F(NotificationServerTest, PostDeliversEvents) {
  StartServer();
  HttpReply r = Post(server_->port(), kAwsExample, "", "/any/path?x=1");
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_NE(r.raw.find(R"({"events":1})"), std::string::npos) << r.raw;
  r = Post(server_->port(), kSeaweedCreate, "Content-Type: application/json\r\n", "/seaweed");
  EXPECT_EQ(r.status, 200) << r.raw;
  auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].key, "HappyFace.jpg");
  EXPECT_EQ(events[1].key, "a b%c+d.csv");
  EXPECT_EQ(server_->stats().requests, 2u);
  EXPECT_EQ(server_->stats().events, 2u);
  EXPECT_EQ(server_->stats().rejected, 0u);
  EXPECT_NE(Log().find("listening on http://127.0.0.1:"), std::string::npos) << Log();
}

TEST_F(NotificationServerTest, MalformedIs400WithOneLogLine) {
  StartServer();
  HttpReply r = Post(server_->port(), R"({"Records":[{"eventName":"x","SECRET":1)");
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_NE(r.raw.find("not JSON"), std::string::npos) << r.raw;
  r = Post(server_->port(), R"({"Records":7})");
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_TRUE(Events().empty());
  EXPECT_EQ(server_->stats().rejected, 2u);
  std::string log = Log();
  EXPECT_NE(log.find("notify: 400 POST from 127.0.0.1: notification is not JSON"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("notify: 400 POST from 127.0.0.1: Records is not an array"), std::string::npos)
      << log;
  EXPECT_EQ(log.find("SECRET"), std::string::npos) << log;
}

TEST_F(NotificationServerTest, BearerToken) {
  NotificationServerOptions options;
  options.bearer_token = "s3cr3t-t0ken";
  StartServer(options);
  EXPECT_EQ(Post(server_->port(), kAwsExample).status, 401);
  EXPECT_EQ(Post(server_->port(), kAwsExample, "Authorization: Bearer wrong\r\n").status, 401);
  EXPECT_EQ(Post(server_->port(), kAwsExample, "Authorization: Bearer s3cr3t-t0ke\r\n").status,
            401);
  EXPECT_EQ(Post(server_->port(), kAwsExample, "Authorization: Basic s3cr3t-t0ken\r\n").status,
            401);
  EXPECT_EQ(Post(server_->port(), kAwsExample, "Authorization: s3cr3t-t0ken\r\n").status, 401);
  EXPECT_TRUE(Events().empty());
  HttpReply r = Post(server_->port(), kAwsExample, "Authorization: Bearer s3cr3t-t0ken\r\n");
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(Post(server_->port(), kAwsExample, "authorization: bearer s3cr3t-t0ken\r\n").status,
            200);
  EXPECT_EQ(Events().size(), 2u);
  std::string log = Log();
  EXPECT_NE(log.find("401 POST from 127.0.0.1: missing or wrong bearer token"), std::string::npos)
      << log;
  EXPECT_EQ(log.find("s3cr3t"), std::string::npos) << log;
  EXPECT_EQ(log.find("Bearer"), std::string::npos) << log;  // nor the presented header
}

TEST_F(NotificationServerTest, BodyOverTheLimitIs413) {
  NotificationServerOptions options;
  options.max_body_bytes = 1024;
  StartServer(options);
  std::string big = R"({"Records":[],"pad":")" + std::string(2048, 'x') + "\"}";
  HttpReply r = Post(server_->port(), big);
  EXPECT_EQ(r.status, 413) << r.raw;
  EXPECT_NE(Log().find("413 POST from 127.0.0.1: body over 1024 bytes"), std::string::npos)
      << Log();
  // Just under the limit still parses.
  std::string ok = R"({"Records":[],"pad":")" + std::string(900, 'x') + "\"}";
  EXPECT_EQ(Post(server_->port(), ok).status, 200);
}

TEST_F(NotificationServerTest, DefaultLimitTakesEightMiB) {
  StartServer();
  std::string big = R"({"Records":[],"pad":")" + std::string(7 << 20, 'x') + "\"}";
  EXPECT_EQ(Post(server_->port(), big).status, 200);
  big = R"({"Records":[],"pad":")" + std::string(9 << 20, 'x') + "\"}";
  EXPECT_EQ(Post(server_->port(), big).status, 413);
}

TEST_F(NotificationServerTest, OtherMethodsAre405) {
  StartServer();
  for (const char* method : {"GET", "PUT", "DELETE", "OPTIONS"}) {
    HttpReply r = RawHttp(server_->port(), std::string(method) +
                                               " / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                               "Content-Length: 0\r\n\r\n");
    EXPECT_EQ(r.status, 405) << method << ": " << r.raw;
    EXPECT_NE(r.raw.find("Allow: POST"), std::string::npos) << method << ": " << r.raw;
  }
  // HEAD is a liveness probe (MinIO sends one): 200, not logged.
  HttpReply head =
      RawHttp(server_->port(), "HEAD /minio HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head.status, 200) << head.raw;
  EXPECT_EQ(Log().find("HEAD"), std::string::npos) << Log();
  // Garbage instead of HTTP: a 400 or a closed connection, and the server keeps serving.
  HttpReply g = RawHttp(server_->port(), "\x16\x03\x01garbage\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(g.status, 400) << g.raw;
  EXPECT_EQ(Post(server_->port(), kAwsExample).status, 200);
}

TEST_F(NotificationServerTest, ConcurrentPosts) {
  NotificationServerOptions options;
  options.threads = 4;
  StartServer(options);
  constexpr int kClients = 8;
  constexpr int kPosts = 25;
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < kPosts; ++i) {
        std::string key = "c" + std::to_string(c) + "%2Fk" + std::to_string(i);
        std::string body = R"({"Records":[{"eventVersion":"2.1","eventName":"ObjectCreated:Put",)"
                           R"("s3":{"bucket":{"name":"b"},"object":{"key":")" +
                           key + R"(","size":1}}}]})";
        if (Post(server_->port(), body).status == 200) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients * kPosts);
  auto events = Events();
  ASSERT_EQ(events.size(), static_cast<size_t>(kClients * kPosts));
  std::set<std::string> keys;
  for (const auto& e : events) keys.insert(e.key);
  EXPECT_EQ(keys.size(), events.size());
  EXPECT_EQ(keys.count("c7/k24"), 1u);
}

// Stop returns promptly even while a client holds an idle keep-alive connection, is idempotent,
// and frees the port.
TEST_F(NotificationServerTest, StopJoinsAndFreesThePort) {
  StartServer();
  uint16_t port = server_->port();
  int idle = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  auto t0 = std::chrono::steady_clock::now();
  server_->Stop();
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, std::chrono::seconds(7));
  server_->Stop();
  ::close(idle);
  EXPECT_EQ(Post(port, kAwsExample).status, 0);  // nobody listens

  NotificationServerOptions options;
  options.port = port;
  auto again = NotificationServer::Start(options, nullptr, nullptr);
  ASSERT_OK(again);
  EXPECT_EQ(again.value()->port(), port);
  // The same port twice: a clear error.
  auto clash = NotificationServer::Start(options, nullptr, nullptr);
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.status().code(), StatusCode::kIOError);
  EXPECT_NE(clash.status().message().find("cannot listen on 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << clash.status().ToString();
}

TEST_F(NotificationServerTest, SnsSubscriptionIsLogged) {
  StartServer();
  HttpReply r = Post(server_->port(), R"({"Type":"SubscriptionConfirmation","TopicArn":"arn:t",
    "SubscribeURL":"https://sns.example/?Action=ConfirmSubscription&Token=abc"})",
                     "x-amz-sns-message-type: SubscriptionConfirmation\r\n");
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_NE(Log().find("https://sns.example/?Action=ConfirmSubscription&Token=abc"),
            std::string::npos)
      << Log();
}

}  // namespace
}  // namespace binlake::trigger
