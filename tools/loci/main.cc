// loci: the command-line tool of the Loci storage engine. The command line itself is
// RunLoci (run_loci.h), callable in-process so that fuzz/fuzz_cli_args.cc can fuzz it.

#include "tools/loci/run_loci.h"

int main(int argc, char** argv) { return loci::cli::RunLoci(argc, argv); }
