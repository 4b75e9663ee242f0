/**
 * kinesalite in a process of its own, so the Kinesis benchmark's client and the emulator do
 * not share one event loop: it reports its endpoint over IPC and runs until disconnected.
 */
import { startKinesalite } from "../test/support/kinesalite.ts";

const kinesalite = await startKinesalite();
process.send!({ endpoint: kinesalite.endpoint });
process.on("disconnect", () => {
  void kinesalite.close().then(() => process.exit(0));
});
