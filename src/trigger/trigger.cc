// The trigger: inotify on the staging folders plus a periodic listing, exactly-once hand-off.
#include "trigger/trigger.h"

#include <dirent.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

namespace binlake::trigger {
namespace {

std::vector<std::string> ListDir(const std::string& dir, bool dirs) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.empty() || n[0] == '.' || n[0] == '_') continue;
    struct stat st;
    if (stat((dir + "/" + n).c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode) == dirs) out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

bool FullLoadDone(const std::string& staging) {
  std::ifstream in(staging + "/_binlake/checkpoint.json");
  if (!in) return false;
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    return j.value("full_load_done", false);
  } catch (const std::exception&) {
    return false;  // being replaced right now: the next scan reads it
  }
}

bool IsCsv(const std::string& n) { return n.size() > 4 && n.ends_with(".csv"); }
bool IsLoad(const std::string& n) { return n.rfind("LOAD", 0) == 0; }

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
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ < 0) log_("inotify unavailable; listing every " + std::to_string(o_.poll_ms) + " ms");
    if (!o_.exec.empty()) LoadExecState();
    return {};
  }
  ~Trigger() {
    if (fd_ >= 0) close(fd_);
  }

  // Lists the staging folder and applies what is new; returns how many files were pending.
  Result<size_t> Scan() {
    Watch(o_.staging);
    bool load_done = FullLoadDone(o_.staging);
    std::vector<Job> jobs;
    for (const auto& schema : ListDir(o_.staging, true)) {
      std::string sdir = o_.staging + "/" + schema;
      Watch(sdir);
      for (const auto& table : ListDir(sdir, true)) {
        std::string tdir = sdir + "/" + table;
        Watch(tdir);
        Job job{schema + "/" + table, {}, {}};
        if (failed_.count(job.key)) continue;
        for (const auto& f : ListDir(tdir, false)) {
          if (!IsCsv(f) || done_.count(job.key + "/" + f)) continue;
          if (IsLoad(f)) {
            if (load_done) job.loads.push_back(f);
          } else {
            job.changes.push_back(f);
          }
        }
        if (!job.loads.empty() || !job.changes.empty()) jobs.push_back(std::move(job));
      }
    }
    size_t pending = 0;
    for (const auto& j : jobs) pending += j.loads.size() + j.changes.size();
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
          failed_.insert(job->key);
          log_("table " + job->key + " stopped: " + st.message());
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

 private:
  void Watch(const std::string& dir) {
    if (fd_ < 0 || watched_.count(dir)) return;
    if (inotify_add_watch(fd_, dir.c_str(), IN_MOVED_TO | IN_CREATE | IN_CLOSE_WRITE) >= 0) {
      watched_.insert(dir);
    }
  }

  Status Run(const Job& job) {
    if (!o_.exec.empty()) return RunExec(job);
    for (const auto* group : {&job.loads, &job.changes}) {
      if (group->empty()) continue;
      std::vector<std::string> paths;
      for (const auto& f : *group) paths.push_back(o_.staging + "/" + job.key + "/" + f);
      auto st = lake::ApplyFiles(o_.apply, paths);
      if (!st.ok()) return st.status();
      stats_->files += group->size();
      stats_->commits += st->commits;
      stats_->skipped += st->skipped;
      if (st->commits > 0) {
        log_("applied " + job.key + "/" + group->back() + " (" + std::to_string(group->size()) +
             " files, " + std::to_string(st->commits) + " commits)");
      }
      std::lock_guard<std::mutex> lock(done_mu_);
      for (const auto& f : *group) done_.insert(job.key + "/" + f);
    }
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
      std::lock_guard<std::mutex> lock(done_mu_);
      exec_state_[job.key] = f;
      done_.insert(rel);
      BL_RETURN_IF_ERROR(SaveExecState());
    }
    return {};
  }

  std::string StatePath() const { return o_.staging + "/_binlake/trigger-state.json"; }

  void LoadExecState() {
    std::ifstream in(StatePath());
    if (!in) return;
    try {
      nlohmann::json j = nlohmann::json::parse(in);
      for (auto& [k, v] : j.items()) exec_state_[k] = v.get<std::string>();
    } catch (const std::exception&) {
      log_("ignoring an unreadable " + StatePath());
    }
  }

  Status SaveExecState() {
    nlohmann::json j = exec_state_;
    std::string tmp = StatePath() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << j.dump(2) << "\n";
      if (!out) return Status::IOError("cannot write " + tmp);
    }
    if (rename(tmp.c_str(), StatePath().c_str()) != 0) {
      return Status::IOError("cannot rename " + tmp + " to " + StatePath());
    }
    return {};
  }

  const TriggerOptions& o_;
  const TriggerLog& log_;
  TriggerStats* stats_;
  int fd_ = -1;
  std::set<std::string> watched_;
  std::mutex done_mu_;
  std::set<std::string> done_;    // "schema/table/file" handed over in this process
  std::set<std::string> failed_;  // tables stopped by an error
  std::map<std::string, std::string> exec_state_;
};

}  // namespace

Status RunTrigger(const TriggerOptions& options, const std::atomic<bool>* stop,
                  const TriggerLog& log, TriggerStats* stats) {
  struct stat st;
  if (stat(options.staging.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::NotFound("staging folder " + options.staging +
                            " does not exist (run binlake capture first, or fix the path)");
  }
  Trigger t(options, log, stats);
  BL_RETURN_IF_ERROR(t.Init());
  while (true) {
    BL_ASSIGN_OR_RETURN(size_t pending, t.Scan());
    if (options.once && pending == 0) break;
    if (stop && stop->load()) break;
    if (pending == 0) t.Wait(stop);
  }
  if (options.once && t.any_failed()) {
    return Status::Internal("some tables could not be applied (see the lines above)");
  }
  return {};
}

}  // namespace binlake::trigger
