// The whole loci command line as a callable function: main.cc is only `return RunLoci(argc,
// argv);`, and the CLI fuzzer (fuzz/fuzz_cli_args.cc) calls it in-process.

#ifndef LOCI_TOOLS_LOCI_RUN_LOCI_H_
#define LOCI_TOOLS_LOCI_RUN_LOCI_H_

namespace loci::cli {

// Parses argv (argv[0] is the program name) and runs the selected subcommand. Output goes to
// std::cout; every failure, a parse error included, is exactly one line on std::cerr. Returns
// the process exit code (cli_support.h: 0 ok, 1 usage / not found, 2 corruption, 3 I/O).
// Keeps no state between calls.
int RunLoci(int argc, const char* const* argv);

}  // namespace loci::cli

#endif  // LOCI_TOOLS_LOCI_RUN_LOCI_H_
