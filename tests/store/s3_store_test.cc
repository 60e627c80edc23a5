// The S3 backend without a server: SigV4 against the AWS documented examples, where credentials,
// region and endpoint come from, and what each S3 error answer becomes.
#include "store/s3_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <string>

#include "store/aws_config.h"
#include "store/sigv4.h"
#include "testing/temp_dir.h"

namespace binlake::store {
namespace {

const char kExampleKey[] = "AKIAIOSFODNN7EXAMPLE";
const char kExampleSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const char kEmptyHash[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

sigv4::Credentials ExampleCredentials() { return {kExampleKey, kExampleSecret, ""}; }

// "Example: GET Object" in the AWS docs (sig-v4-header-based-auth.html).
TEST(SigV4Test, AwsGetObjectExample) {
  sigv4::Request r;
  r.method = "GET";
  r.encoded_path = "/test.txt";
  r.payload_sha256 = kEmptyHash;
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", kEmptyHash},
               {"x-amz-date", "20130524T000000Z"}};
  EXPECT_EQ(
      sigv4::CanonicalRequest(r),
      "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sigv4::StringToSign(r, "20130524T000000Z", "us-east-1", "s3"),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(sigv4::Authorization(r, ExampleCredentials(), "20130524T000000Z", "us-east-1"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

// "Example: PUT Object": a body, a header with a '$' in the key path, x-amz-storage-class.
TEST(SigV4Test, AwsPutObjectExample) {
  const std::string body = "Welcome to Amazon S3.";
  sigv4::Request r;
  r.method = "PUT";
  r.encoded_path = "/" + sigv4::UriEncode("test$file.text", true);
  r.payload_sha256 = sigv4::Sha256Hex(body);
  EXPECT_EQ(r.payload_sha256, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"x-amz-date", "20130524T000000Z"},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
               {"x-amz-content-sha256", r.payload_sha256}};
  EXPECT_EQ(sigv4::Authorization(r, ExampleCredentials(), "20130524T000000Z", "us-east-1"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
            "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

// "Example: GET Bucket (List Objects)": the query string is sorted and encoded.
TEST(SigV4Test, AwsListObjectsExample) {
  sigv4::Request r;
  r.method = "GET";
  r.encoded_path = "/";
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};
  r.payload_sha256 = kEmptyHash;
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"x-amz-date", "20130524T000000Z"},
               {"x-amz-content-sha256", kEmptyHash}};
  EXPECT_EQ(sigv4::CanonicalQuery(r.query), "max-keys=2&prefix=J");
  EXPECT_EQ(sigv4::Authorization(r, ExampleCredentials(), "20130524T000000Z", "us-east-1"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
            "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4Test, UriEncoding) {
  EXPECT_EQ(sigv4::UriEncode("a/b c+d~e_f.g-h", true), "a/b%20c%2Bd~e_f.g-h");
  EXPECT_EQ(sigv4::UriEncode("a/b=c&d", false), "a%2Fb%3Dc%26d");
  EXPECT_EQ(sigv4::UriEncode("\xc3\xa9", true), "%C3%A9");
  EXPECT_EQ(sigv4::AmzDate(1369353600), "20130524T000000Z");
}

class AwsConfigTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text, unsigned mode = 0600) {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  testing::TempDir dir_;
};

TEST_F(AwsConfigTest, EnvironmentBeatsProfile) {
  const std::string creds =
      Write("credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FS\n");
  auto cfg = ResolveAwsConfig({}, MapEnv({{"AWS_ACCESS_KEY_ID", "ENVKEY"},
                                          {"AWS_SECRET_ACCESS_KEY", "ENVSECRET"},
                                          {"AWS_SESSION_TOKEN", "TOKEN"},
                                          {"AWS_SHARED_CREDENTIALS_FILE", creds}}));
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->credentials.access_key_id, "ENVKEY");
  EXPECT_EQ(cfg->credentials.secret_access_key, "ENVSECRET");
  EXPECT_EQ(cfg->credentials.session_token, "TOKEN");
  EXPECT_NE(cfg->credentials_source.find("AWS_ACCESS_KEY_ID"), std::string::npos);
  EXPECT_EQ(cfg->credentials_source.find("ENVSECRET"), std::string::npos);
  EXPECT_EQ(cfg->region, "us-east-1");
  EXPECT_EQ(cfg->host, "s3.us-east-1.amazonaws.com");
  EXPECT_EQ(cfg->scheme, "https");
  EXPECT_FALSE(cfg->custom_endpoint);
}

TEST_F(AwsConfigTest, ProfileFromOptionsThenAwsProfileThenDefault) {
  const std::string creds =
      Write("credentials",
            "[default]\naws_access_key_id = DKEY\naws_secret_access_key = DS\n"
            "[dev]\naws_access_key_id = DEVKEY\naws_secret_access_key = DEVS\n"
            "aws_session_token = DEVTOKEN\n"
            "[ops]\naws_access_key_id = OPSKEY\naws_secret_access_key = OPS\n");
  const std::string config = Write("config",
                                   "[default]\nregion = eu-west-1\n"
                                   "[profile dev]\nregion = ap-south-1\n",
                                   0644);
  std::map<std::string, std::string> env = {{"AWS_SHARED_CREDENTIALS_FILE", creds},
                                            {"AWS_CONFIG_FILE", config}};
  auto d = ResolveAwsConfig({}, MapEnv(env));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->credentials.access_key_id, "DKEY");
  EXPECT_EQ(d->region, "eu-west-1");
  EXPECT_EQ(d->host, "s3.eu-west-1.amazonaws.com");

  env["AWS_PROFILE"] = "dev";
  auto dev = ResolveAwsConfig({}, MapEnv(env));
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->credentials.access_key_id, "DEVKEY");
  EXPECT_EQ(dev->credentials.session_token, "DEVTOKEN");
  EXPECT_EQ(dev->region, "ap-south-1") << "[profile dev] in the config file";
  EXPECT_NE(dev->credentials_source.find("profile 'dev'"), std::string::npos);

  S3Options o;
  o.profile = "ops";
  auto ops = ResolveAwsConfig(o, MapEnv(env));
  ASSERT_TRUE(ops.ok());
  EXPECT_EQ(ops->credentials.access_key_id, "OPSKEY");
  EXPECT_EQ(ops->region, "us-east-1") << "no [profile ops] region";

  env["AWS_DEFAULT_REGION"] = "us-west-1";
  EXPECT_EQ(ResolveAwsConfig({}, MapEnv(env))->region, "us-west-1");
  env["AWS_REGION"] = "us-west-2";
  EXPECT_EQ(ResolveAwsConfig({}, MapEnv(env))->region, "us-west-2");
  o.region = "ca-central-1";
  EXPECT_EQ(ResolveAwsConfig(o, MapEnv(env))->region, "ca-central-1");
}

TEST_F(AwsConfigTest, Endpoints) {
  const std::map<std::string, std::string> base = {{"AWS_ACCESS_KEY_ID", "K"},
                                                   {"AWS_SECRET_ACCESS_KEY", "S"}};
  auto env = base;
  env["AWS_ENDPOINT_URL"] = "http://other:1";
  env["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:9400/";
  auto c = ResolveAwsConfig({}, MapEnv(env));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "127.0.0.1:9400");
  EXPECT_EQ(c->scheme, "http");
  EXPECT_TRUE(c->custom_endpoint);
  S3Options o;
  o.endpoint = "https://minio.example:443";
  auto c2 = ResolveAwsConfig(o, MapEnv(env));
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(c2->host, "minio.example");
  o.endpoint = "minio.example:9000";
  EXPECT_EQ(ResolveAwsConfig(o, MapEnv(base)).status().code(), StatusCode::kInvalidArgument);
  o.endpoint = "http://h:1/path";
  EXPECT_EQ(ResolveAwsConfig(o, MapEnv(base)).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AwsConfigTest, CredentialsFileReadableByOthersIsRefused) {
  const std::string creds = Write(
      "credentials", "[default]\naws_access_key_id = K\naws_secret_access_key = SECRETX\n", 0644);
  auto c = ResolveAwsConfig({}, MapEnv({{"AWS_SHARED_CREDENTIALS_FILE", creds}}));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("chmod 600 " + creds), std::string::npos)
      << c.status().ToString();
  EXPECT_EQ(c.status().message().find("SECRETX"), std::string::npos);
  EXPECT_EQ(c.status().message().find('\n'), std::string::npos) << "one line";
  ::chmod(creds.c_str(), 0400);
  EXPECT_TRUE(ResolveAwsConfig({}, MapEnv({{"AWS_SHARED_CREDENTIALS_FILE", creds}})).ok());
}

TEST_F(AwsConfigTest, MissingCredentialsSayWhere) {
  auto c = ResolveAwsConfig({}, MapEnv({{"HOME", dir_.path()}}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(dir_.path() + "/.aws/credentials"), std::string::npos)
      << c.status().ToString();
  auto half = ResolveAwsConfig({}, MapEnv({{"AWS_ACCESS_KEY_ID", "K"}}));
  EXPECT_EQ(half.status().code(), StatusCode::kInvalidArgument);
}

TEST(IniTest, Parses) {
  auto ini = ParseIni("# c\n[default]\n  key = v a l \n;x\n[profile a b]\nk=1\r\nbad line\n");
  EXPECT_EQ(ini["default"]["key"], "v a l");
  EXPECT_EQ(ini["profile a b"]["k"], "1");
}

AwsConfig TestConfig() {
  AwsConfig c;
  c.credentials = {"AKIDTEST", "SUPERSECRET", "SESSIONTOKEN"};
  c.credentials_source = "profile 'binlake' in /x/credentials (access key AKIDTEST)";
  c.region = "us-east-1";
  c.region_source = "AWS_REGION";
  c.scheme = "http";
  c.host = "127.0.0.1:9";
  return c;
}

std::string ErrorXml(const std::string& code, const std::string& extra = "") {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code +
         "</Code><Message>msg &amp; more</Message>" + extra + "<RequestId>1</RequestId></Error>";
}

Status Map(long http, const std::string& body, std::map<std::string, std::string> headers = {}) {
  return s3::ErrorStatus("s3://b/p", "GET k", http, headers, body, TestConfig());
}

TEST(S3ErrorTest, EachErrorHasItsCodeAndFix) {
  const Status sig = Map(403, ErrorXml("SignatureDoesNotMatch",
                                       "<StringToSign>AWS4</StringToSign>"
                                       "<SignatureProvided>abc</SignatureProvided>"));
  EXPECT_EQ(sig.code(), StatusCode::kUnauthenticated);
  EXPECT_NE(sig.message().find("profile 'binlake'"), std::string::npos) << sig.ToString();
  EXPECT_EQ(Map(403, ErrorXml("InvalidAccessKeyId")).code(), StatusCode::kUnauthenticated);
  const Status denied = Map(403, ErrorXml("AccessDenied"));
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  const Status bucket = Map(404, ErrorXml("NoSuchBucket"));
  EXPECT_EQ(bucket.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bucket.message().find("bucket does not exist"), std::string::npos);
  EXPECT_EQ(Map(404, ErrorXml("NoSuchKey")).code(), StatusCode::kNotFound);
  EXPECT_EQ(Map(404, "").code(), StatusCode::kNotFound) << "HEAD: no body";
  EXPECT_EQ(Map(412, ErrorXml("PreconditionFailed")).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Map(409, ErrorXml("ConditionalRequestConflict")).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Map(503, ErrorXml("SlowDown")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(Map(500, ErrorXml("InternalError")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(Map(400, ErrorXml("InvalidArgument")).code(), StatusCode::kServer);

  // Wrong region: AWS's answers name the bucket's region in the body or a header.
  const Status malformed =
      Map(400, ErrorXml("AuthorizationHeaderMalformed", "<Region>eu-west-1</Region>"));
  EXPECT_EQ(malformed.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(malformed.message().find("region = \"eu-west-1\""), std::string::npos)
      << malformed.ToString();
  const Status moved = Map(301, "", {{"x-amz-bucket-region", "ap-northeast-1"}});
  EXPECT_NE(moved.message().find("in region ap-northeast-1, not us-east-1"), std::string::npos)
      << moved.ToString();
  const Status redirect = Map(301, ErrorXml("PermanentRedirect", "<Endpoint>b.s3.x</Endpoint>"));
  EXPECT_EQ(redirect.code(), StatusCode::kInvalidArgument);

  for (const Status& st : {sig, denied, bucket, malformed, moved}) {
    EXPECT_EQ(st.message().find("SUPERSECRET"), std::string::npos);
    EXPECT_EQ(st.message().find("SESSIONTOKEN"), std::string::npos);
    EXPECT_EQ(st.message().find('\n'), std::string::npos);
    EXPECT_EQ(st.message().rfind("s3://b/p: GET k: ", 0), 0u) << st.message();
  }
}

TEST(S3XmlTest, ParsesListObjectsV2) {
  const std::string xml =
      "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
      "<IsTruncated>true</IsTruncated><NextContinuationToken>tok&amp;1</NextContinuationToken>"
      "<Contents><Key>p/a&amp;b&lt;c&#x41;&#233;</Key><LastModified>2024-01-02T03:04:05.678Z"
      "</LastModified><ETag>&quot;x&quot;</ETag><Size>12</Size></Contents>"
      "<Contents><Key>p/z</Key><LastModified>1970-01-01T00:00:01Z</LastModified><Size>0</Size>"
      "<Owner><ID>o</ID></Owner></Contents></ListBucketResult>";
  auto page = s3::ParseListObjectsV2(xml);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/a&b<cA\xc3\xa9");
  EXPECT_EQ(page->objects[0].size, 12u);
  EXPECT_EQ(page->objects[0].mtime_ms, 1704164645678);
  EXPECT_EQ(page->objects[1].mtime_ms, 1000);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "tok&1");
  EXPECT_EQ(s3::ParseListObjectsV2("<Error/>").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(s3::ParseListObjectsV2("<ListBucketResult><Contents><Size>1</Size></Contents>")
                .status()
                .code(),
            StatusCode::kCorruption);
  EXPECT_EQ(s3::XmlValue("<A><UploadId>u-1</UploadId></A>", "UploadId"), "u-1");
  EXPECT_EQ(s3::XmlValue("<A><UploadIdX>u</UploadIdX></A>", "UploadId"), "");
}

TEST(S3OpenTest, BadOptionsFailBeforeAnyRequest) {
  StoreUri uri;
  uri.kind = StoreUri::Kind::kS3;
  uri.bucket = "b";
  S3Options o;
  o.part_bytes = 1 << 20;
  EXPECT_EQ(OpenS3Store(uri, o, MapEnv({})).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenS3Store(uri, {}, MapEnv({{"HOME", "/nonexistent"}})).status().code(),
            StatusCode::kInvalidArgument)
      << "no credentials";
}

}  // namespace
}  // namespace binlake::store
