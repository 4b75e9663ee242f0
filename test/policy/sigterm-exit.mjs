// Preloaded into the policy pack's process by its test: SIGTERM then exits normally, so the
// coverage of that process is written like any other's.
process.once("SIGTERM", () => process.exit(0));
