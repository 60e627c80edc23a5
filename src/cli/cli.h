// The command-line interface: parses the command and its flags and runs it.
#pragma once

namespace binlake::cli {

// Runs `binlake <command> ...`; returns the process exit code.
int Main(int argc, char** argv);

}  // namespace binlake::cli
