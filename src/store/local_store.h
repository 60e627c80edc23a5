// The local-folder backend of ObjectStore: a key is a file under the root.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace binlake::store {

// Creates `root` when missing. Put writes `.<name>.<unique>.tmp` beside the target, fsyncs it, then
// renames it over the target (kOverwrite) or link(2)s it (kCreateIfAbsent: EEXIST, never replaced)
// and fsyncs the folder. List hides those temporary files.
Result<std::unique_ptr<ObjectStore>> OpenLocalStore(const std::string& root);

}  // namespace binlake::store
