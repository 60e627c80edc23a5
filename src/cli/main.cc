// binlake: the command-line entry point; each command lives in its own file under src/cli/.
#include "cli/cli.h"

int main(int argc, char** argv) { return binlake::cli::Main(argc, argv); }
