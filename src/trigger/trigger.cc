// The trigger: inotify on the staging folders plus a periodic listing, exactly-once hand-off.
#include "trigger/trigger.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "trigger/notify.h"

namespace binlake::trigger {
namespace {

// The snapshot position of the finished full load (its JSON text); nullopt while none is done.
std::optional<std::string> FullLoadSnapshot(store::ObjectStore& staging) {
  auto text = staging.Get("_binlake/checkpoint.json");
  if (!text.ok()) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.value("full_load_done", false)) return std::nullopt;
  return j.contains("snapshot") ? j["snapshot"].dump() : std::string();
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool IsCsv(const std::string& n) { return n.size() > 4 && n.ends_with(".csv"); }
bool IsLoad(const std::string& n) { return n.rfind("LOAD", 0) == 0; }

// "schema/table" -> "schema.table", as the metrics name tables.
std::string TableName(const std::string& key) {
  std::string n = key;
  const size_t slash = n.find('/');
  if (slash != std::string::npos) n[slash] = '.';
  return n;
}

// One table's files waiting for the apply, LOAD files first, each group in name order.
struct Job {
  std::string key;  // "schema/table"
  std::vector<std::string> loads, changes;
};

class Trigger {
 public:
  Trigger(const TriggerOptions& o, const TriggerLog& log, TriggerStats* stats)
      : o_(o), log_(log), stats_(stats) {}

  Status Init() {
    BL_ASSIGN_OR_RETURN(auto uri, store::ParseStoreUri(o_.staging));
    if (uri.kind == store::StoreUri::Kind::kLocal) {
      struct stat st {};
      if (stat(uri.path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return Status::NotFound("staging folder " + o_.staging +
                                " does not exist (run binlake capture first, or fix the path)");
      }
      local_root_ = uri.path;
      while (local_root_.size() > 1 && local_root_.back() == '/') local_root_.pop_back();
      fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
      if (fd_ < 0) log_("inotify unavailable; listing every " + std::to_string(o_.poll_ms) + " ms");
    }
    BL_ASSIGN_OR_RETURN(staging_, store::OpenStore(o_.staging, o_.apply.stores));
    // The lake is checked at start (a wrong bucket or endpoint fails now, not at the first file).
    if (o_.exec.empty() && !o_.apply.lake.empty()) {
      BL_RETURN_IF_ERROR(store::OpenStore(o_.apply.lake, o_.apply.stores).status());
    }
    if (!o_.exec.empty()) LoadExecState();
    return {};
  }

  // Wakes Wait() (a bucket notification arrived).
  void Wake() {
    std::lock_guard<std::mutex> lock(wake_mu_);
    woken_ = true;
    wake_cv_.notify_all();
  }
  ~Trigger() {
    if (fd_ >= 0) close(fd_);
  }

  // Lists the staging store and applies what is new; returns how many files were pending.
  // Tables come from the schema objects (`_binlake/schemas/<schema>/<table>/`), each table's
  // files from a listing after the last change file handed over (cheap on S3 however long the
  // staging history is).
  Result<size_t> Scan() {
    Watch("");
    bool pending_retry = false;
    const auto snapshot = FullLoadSnapshot(*staging_);
    const bool load_done = snapshot.has_value();
    if (load_done && *snapshot != load_snapshot_) {
      // A re-load (docs/staging.md): its LOAD files have the names of the last load's.
      std::lock_guard<std::mutex> lock(done_mu_);
      for (auto it = done_.begin(); it != done_.end();) {
        const size_t slash = it->rfind('/');
        it = IsLoad(it->substr(slash + 1)) ? done_.erase(it) : std::next(it);
      }
      load_snapshot_ = *snapshot;
    }
    store::ListOptions so;
    so.prefix = "_binlake/schemas/";
    BL_ASSIGN_OR_RETURN(auto schemas, staging_->List(so));
    std::set<std::string> tables;
    for (const auto& o : schemas) {
      const std::string rest = o.key.substr(so.prefix.size());
      const size_t a = rest.find('/');
      const size_t b = a == std::string::npos ? a : rest.find('/', a + 1);
      if (b != std::string::npos) tables.insert(rest.substr(0, b));
    }
    std::vector<Job> jobs;
    for (const auto& key : tables) {
      Watch(key.substr(0, key.find('/')));
      Watch(key);
      Job job{key, {}, {}};
      if (failed_.count(job.key)) continue;
      if (auto r = retry_at_.find(job.key); r != retry_at_.end() && NowMs() < r->second) {
        pending_retry = true;
        continue;
      }
      store::ListOptions lo;
      lo.prefix = key + "/";
      {
        std::lock_guard<std::mutex> lock(done_mu_);
        auto c = cursor_.find(key);
        if (c != cursor_.end()) lo.start_after = lo.prefix + c->second;
      }
      BL_ASSIGN_OR_RETURN(auto objects, staging_->List(lo));
      for (const auto& o : objects) {
        const std::string f = o.key.substr(lo.prefix.size());
        if (!IsCsv(f) || f[0] == '.' || f.find('/') != std::string::npos) continue;
        {
          std::lock_guard<std::mutex> lock(done_mu_);
          if (done_.count(job.key + "/" + f)) continue;
        }
        if (IsLoad(f)) {
          if (load_done) job.loads.push_back(f);
        } else {
          job.changes.push_back(f);
        }
      }
      if (!job.loads.empty() || !job.changes.empty()) {
        if (o_.metrics) {
          o_.metrics->Pending(TableName(job.key), job.loads.size() + job.changes.size(),
                              job.changes.empty() ? job.loads.back() : job.changes.back());
        }
        jobs.push_back(std::move(job));
      }
    }
    retrying_ = pending_retry;
    size_t pending = 0;
    for (const auto& j : jobs) pending += j.loads.size() + j.changes.size();
    if (o_.spark.enabled) {
      Status st = RunSpark(jobs);
      if (!st.ok()) {
        for (const auto& j : jobs) {
          failed_.insert(j.key);
          log_("table " + j.key + " stopped: " + st.message());
          if (o_.metrics) o_.metrics->Error(TableName(j.key), st.message(), true);
        }
      }
      return pending;
    }
    // Tables in parallel, each table's files in order on one thread.
    size_t next = 0;
    std::mutex mu;
    auto worker = [&] {
      while (true) {
        Job* job;
        {
          std::lock_guard<std::mutex> lock(mu);
          if (next >= jobs.size()) return;
          job = &jobs[next++];
        }
        Status st = Run(*job);
        if (!st.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (st.code() == StatusCode::kUnavailable) {
            // The store failed after its own retries: the table is retried on a later scan
            // (the apply is exactly once, so a half-done attempt is harmless).
            const int n = ++transient_[job->key];
            const int64_t wait_ms = std::min<int64_t>(int64_t{500} << std::min(n, 6), 30000);
            retry_at_[job->key] = NowMs() + wait_ms;
            log_("table " + job->key + ": " + st.message() + "; retrying in " +
                 std::to_string(wait_ms) + " ms");
            if (o_.metrics) o_.metrics->Error(TableName(job->key), st.message(), false);
          } else {
            failed_.insert(job->key);
            log_("table " + job->key + " stopped: " + st.message());
            if (o_.metrics) o_.metrics->Error(TableName(job->key), st.message(), true);
          }
        } else {
          std::lock_guard<std::mutex> lock(mu);
          transient_.erase(job->key);
          retry_at_.erase(job->key);
        }
      }
    };
    std::vector<std::thread> threads;
    int n = std::max(1, std::min<int>(o_.parallelism, static_cast<int>(jobs.size())));
    for (int i = 1; i < n; i++) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    return pending;
  }

  // Waits for an inotify event or the listing interval.
  void Wait(const std::atomic<bool>* stop) {
    uint32_t waited = 0;
    while (waited < o_.poll_ms && !(stop && stop->load())) {
      uint32_t slice = std::min<uint32_t>(100, o_.poll_ms - waited);
      {
        std::unique_lock<std::mutex> lock(wake_mu_);
        if (woken_) {
          woken_ = false;
          return;
        }
        if (fd_ < 0) {
          wake_cv_.wait_for(lock, std::chrono::milliseconds(slice), [this] { return woken_; });
          waited += slice;
          continue;
        }
      }
      if (fd_ >= 0) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(slice)) > 0) {
          char buf[8192];
          while (read(fd_, buf, sizeof buf) > 0) {
          }
          return;
        }
      } else {
        usleep(slice * 1000);
      }
      waited += slice;
    }
  }

  bool any_failed() const { return !failed_.empty(); }
  bool retrying() const { return retrying_; }  // a table waits to be tried again

 private:
  // inotify on a local staging folder (`rel` to the root; "" the root itself).
  void Watch(const std::string& rel) {
    if (fd_ < 0 || watched_.count(rel)) return;
    const std::string dir = rel.empty() ? local_root_ : local_root_ + "/" + rel;
    if (inotify_add_watch(fd_, dir.c_str(), IN_MOVED_TO | IN_CREATE | IN_CLOSE_WRITE) >= 0) {
      watched_.insert(rel);
    }
  }

  Status Run(const Job& job) {
    if (!o_.exec.empty()) return RunExec(job);
    for (const auto* group : {&job.loads, &job.changes}) {
      if (group->empty()) continue;
      std::vector<std::string> keys;
      for (const auto& f : *group) keys.push_back(job.key + "/" + f);
      lake::ApplyOptions apply = o_.apply;
      apply.staging = o_.staging;
      auto st = lake::ApplyFiles(apply, keys);
      if (!st.ok()) return st.status();
      stats_->files += group->size();
      stats_->commits += st->commits;
      stats_->skipped += st->skipped;
      if (o_.metrics) {
        o_.metrics->Applied(TableName(job.key), group->size(), static_cast<uint64_t>(st->commits),
                            group->back());
      }
      if (st->commits > 0) {
        log_("applied " + job.key + "/" + group->back() + " (" + std::to_string(group->size()) +
             " files, " + std::to_string(st->commits) + " commits)");
      }
      std::lock_guard<std::mutex> lock(done_mu_);
      for (const auto& f : *group) done_.insert(job.key + "/" + f);
      if (group == &job.changes) cursor_[job.key] = group->back();
    }
    return {};
  }

  // The Spark job for every file of the scan that the lake has not got yet (PendingFiles reads
  // the tables' Delta logs): one run per max_files files. The job checks the txn itself too, so
  // a file handed over twice (a crash between its commit and this process noting it) is skipped.
  Status RunSpark(const std::vector<Job>& jobs) {
    std::vector<std::string> keys;
    for (const auto& j : jobs) {
      for (const auto& f : j.loads) keys.push_back(j.key + "/" + f);
      for (const auto& f : j.changes) keys.push_back(j.key + "/" + f);
    }
    if (keys.empty()) return {};
    lake::ApplyOptions apply = o_.apply;
    apply.staging = o_.staging;
    BL_ASSIGN_OR_RETURN(auto pending, lake::PendingFiles(apply, keys));
    stats_->skipped += keys.size() - pending.size();
    const size_t batch = std::max<size_t>(1, o_.spark.max_files);
    for (size_t start = 0; start < pending.size(); start += batch) {
      std::vector<std::string> part(
          pending.begin() + static_cast<std::ptrdiff_t>(start),
          pending.begin() + static_cast<std::ptrdiff_t>(std::min(pending.size(), start + batch)));
      BL_RETURN_IF_ERROR(RunSparkJob(part));
    }
    std::lock_guard<std::mutex> lock(done_mu_);
    for (const auto& j : jobs) {
      for (const auto& f : j.loads) done_.insert(j.key + "/" + f);
      for (const auto& f : j.changes) done_.insert(j.key + "/" + f);
      if (!j.changes.empty()) cursor_[j.key] = j.changes.back();
    }
    return {};
  }

  // `sh -c '<submit> "$@"' sh <job> --staging S --lake L --files K1,K2,... <dialect> <args>`:
  // the submit line is the user's shell words; everything else goes over as exact arguments.
  Status RunSparkJob(const std::vector<std::string>& keys) {
    const auto& sp = o_.spark;
    const auto& csv = o_.apply.csv;
    std::string files;
    for (const auto& k : keys) files += (files.empty() ? "" : ",") + k;
    std::vector<std::string> argv = {"/bin/sh",
                                     "-c",
                                     sp.submit + " \"$@\"",
                                     "sh",
                                     sp.job,
                                     "--staging",
                                     sp.staging.empty() ? o_.staging : sp.staging,
                                     "--lake",
                                     sp.lake.empty() ? o_.apply.lake : sp.lake,
                                     "--files",
                                     files,
                                     "--delimiter",
                                     std::string(1, csv.delimiter),
                                     "--null-value",
                                     csv.null_value,
                                     "--header",
                                     csv.header ? "true" : "false",
                                     "--include-op-for-full-load",
                                     csv.include_op_for_full_load ? "true" : "false",
                                     "--timestamp-column",
                                     csv.timestamp_column};
    argv.insert(argv.end(), sp.args.begin(), sp.args.end());
    std::vector<char*> cargv;
    cargv.reserve(argv.size() + 1);
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return Status::IOError("pipe: cannot start the Spark job");
    const auto t0 = std::chrono::steady_clock::now();
    log_("spark job: " + std::to_string(keys.size()) + " files, from " + keys.front() + " to " +
         keys.back());
    pid_t pid = fork();
    if (pid == 0) {
      dup2(out[1], 1);
      execv("/bin/sh", cargv.data());
      _exit(127);
    }
    close(out[1]);
    std::string output;
    char buf[4096];
    for (ssize_t n; (n = read(out[0], buf, sizeof buf)) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      output.append(buf, static_cast<size_t>(n));
    }
    close(out[0]);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      const int code = pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      return Status::Internal(
          "the Spark job (" + sp.job + ") failed with exit " + std::to_string(code) + " on " +
          std::to_string(keys.size()) + " files from " + keys.front() +
          (code == 127 ? "; the [spark] submit command was not found" : "; its error is above") +
          "; fix it and restart the trigger (applied files are kept)");
    }
    // The job's last stdout line is its JSON summary.
    nlohmann::json summary;
    for (size_t end = output.size(); end > 0;) {
      size_t begin = output.rfind('\n', end - 1);
      begin = begin == std::string::npos ? 0 : begin + 1;
      auto j = nlohmann::json::parse(output.substr(begin, end - begin), nullptr, false);
      if (!j.is_discarded() && j.is_object()) {
        summary = std::move(j);
        break;
      }
      end = begin == 0 ? 0 : begin - 1;
    }
    const uint64_t commits = summary.value("commits", uint64_t{0});
    stats_->files += keys.size();
    stats_->commits += commits;
    stats_->skipped += summary.value("skipped", uint64_t{0});
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    char line[160];
    std::snprintf(line, sizeof line, "spark job applied %zu files (%llu commits) in %.1f s",
                  keys.size(), static_cast<unsigned long long>(commits), secs);
    log_(line);
    return {};
  }

  // External command per file; the last file handed over per table is kept in a state file.
  Status RunExec(const Job& job) {
    std::vector<std::string> files = job.loads;
    files.insert(files.end(), job.changes.begin(), job.changes.end());
    for (const auto& f : files) {
      std::string rel = job.key + "/" + f;
      {
        std::lock_guard<std::mutex> lock(done_mu_);
        auto it = exec_state_.find(job.key);
        // LOAD files come first, then change files in name order: skip what was handed over.
        if (it != exec_state_.end() && !IsLoad(f) == !IsLoad(it->second) && f <= it->second) {
          done_.insert(rel);
          continue;
        }
        if (it != exec_state_.end() && IsLoad(f) && !IsLoad(it->second)) {
          done_.insert(rel);
          continue;
        }
      }
      pid_t pid = fork();
      if (pid == 0) {
        execl("/bin/sh", "sh", "-c", (o_.exec + " \"$0\" \"$1\"").c_str(), o_.staging.c_str(),
              rel.c_str(), static_cast<char*>(nullptr));
        _exit(127);
      }
      int status = 0;
      if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
          WEXITSTATUS(status) != 0) {
        return Status::Internal("--exec command failed for " + rel + " (exit " +
                                std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                                "); fix it and restart the trigger to hand the file over again");
      }
      stats_->files++;
      if (o_.metrics) o_.metrics->Applied(TableName(job.key), 1, 0, f);
      std::lock_guard<std::mutex> lock(done_mu_);
      exec_state_[job.key] = f;
      done_.insert(rel);
      if (!IsLoad(f)) cursor_[job.key] = f;
      BL_RETURN_IF_ERROR(SaveExecState());
    }
    return {};
  }

  static constexpr const char* kStateKey = "_binlake/trigger-state.json";

  void LoadExecState() {
    auto text = staging_->Get(kStateKey);
    if (!text.ok()) return;
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      log_("ignoring an unreadable " + staging_->uri() + "/" + kStateKey);
      return;
    }
    for (auto& [k, v] : j.items()) {
      if (v.is_string()) exec_state_[k] = v.get<std::string>();
    }
  }

  Status SaveExecState() {
    nlohmann::json j = exec_state_;
    return staging_->Put(kStateKey, j.dump(2) + "\n");
  }

  const TriggerOptions& o_;
  const TriggerLog& log_;
  TriggerStats* stats_;
  std::unique_ptr<store::ObjectStore> staging_;
  std::string local_root_;  // the staging folder when it is local (inotify)
  int fd_ = -1;
  std::set<std::string> watched_;
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool woken_ = false;
  std::map<std::string, std::string> cursor_;  // table -> last change file handed over
  bool retrying_ = false;
  std::map<std::string, int> transient_;     // table -> store failures in a row
  std::map<std::string, int64_t> retry_at_;  // table -> when to try it again (ms)
  std::mutex done_mu_;
  std::set<std::string> done_;    // "schema/table/file" handed over in this process
  std::string load_snapshot_;     // the full load's snapshot when its LOAD files were listed
  std::set<std::string> failed_;  // tables stopped by an error
  std::map<std::string, std::string> exec_state_;
};

}  // namespace

Status RunTrigger(const TriggerOptions& options, const std::atomic<bool>* stop,
                  const TriggerLog& log, TriggerStats* stats) {
  Trigger t(options, log, stats);
  BL_RETURN_IF_ERROR(t.Init());
  std::unique_ptr<NotificationServer> notify;
  if (!options.notify_listen.empty()) {
    BL_ASSIGN_OR_RETURN(auto uri, store::ParseStoreUri(options.staging));
    NotificationServerOptions no;
    const size_t colon = options.notify_listen.rfind(':');
    const int port =
        colon == std::string::npos ? -1 : std::atoi(options.notify_listen.c_str() + colon + 1);
    if (colon == std::string::npos || port < 0 || port > 65535) {
      return Status::InvalidArgument("notify address '" + options.notify_listen +
                                     "' is not host:port (e.g. 127.0.0.1:9499)");
    }
    no.host = options.notify_listen.substr(0, colon);
    no.port = static_cast<uint16_t>(port);
    no.bearer_token = options.notify_token;
    // S3: the bucket and prefix of the staging URI; a local folder: any key (a bridge may post
    // events for a mirror of it).
    const bool s3 = uri.kind == store::StoreUri::Kind::kS3;
    auto on_event = [&t, stats, s3, uri](const ObjectEvent& e) {
      if (s3 && (e.bucket != uri.bucket || !e.key.starts_with(uri.prefix))) return;
      stats->events++;
      t.Wake();
    };
    BL_ASSIGN_OR_RETURN(notify, NotificationServer::Start(no, on_event, log));
    stats->notify_port = notify->port();
    log("listening for bucket notifications on " + no.host + ":" + std::to_string(notify->port()));
  }
  const int64_t started_ms = NowMs();
  while (true) {
    BL_ASSIGN_OR_RETURN(size_t pending, t.Scan());
    if (options.once && pending == 0 && !t.retrying()) break;
    if (options.once && options.once_retry_limit_ms > 0 &&
        NowMs() - started_ms > options.once_retry_limit_ms) {
      return Status::Unavailable(
          "tables still failed on store errors after " +
          std::to_string(options.once_retry_limit_ms / 1000) +
          " s of retries (see the lines above); their files stay staged and the next start "
          "applies them");
    }
    if (stop && stop->load()) break;
    if (pending == 0) t.Wait(stop);
  }
  if (options.once && t.any_failed()) {
    return Status::Internal("some tables could not be applied (see the lines above)");
  }
  return {};
}

}  // namespace binlake::trigger
