/**
 * A loopback peer for the network and timeout benchmarks, in a separate Node process so
 * that its work does not share the measured runtime's event loop: `echo` sends back what it
 * receives, `blast` writes 64 KiB chunks as fast as the reader takes them.
 */

import { spawn } from "node:child_process";

const PEER = `
const net = require("node:net");
const mode = process.argv[1];
const chunk = Buffer.alloc(64 * 1024, 97);
const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on("error", () => {});
  if (mode === "echo") { socket.on("data", (data) => socket.write(data)); return; }
  const pump = () => { while (socket.write(chunk)); };
  socket.on("drain", pump);
  pump();
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
`;

/** Starts the peer; `stop()` ends it. */
export async function startPeer(mode: "echo" | "blast") {
  const child = spawn("node", ["-e", PEER, mode], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve) =>
    child.stdout!.once("data", (data) => resolve(Number(String(data).trim())))
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    port,
    async stop() {
      child.stdin!.end();
      child.stdout!.destroy();
      await exited;
    },
  };
}
