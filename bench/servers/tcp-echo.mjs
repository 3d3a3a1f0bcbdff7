/**
 * The physical floor: a TCP echo server on loopback speaking length-prefixed frames (4-byte big-endian
 * length, then the bytes) over persistent connections; every complete frame is written straight back.
 * A bench helper: started by bench/main.mjs, reports its port over IPC.
 */
import { createServer } from "node:net";
import { serveHelper } from "../lib/helper.mjs";

const server = createServer((socket) => {
  socket.setNoDelay(true);
  let pending = Buffer.alloc(0);
  socket.on("data", (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let end = 0;
    while (pending.length - end >= 4) {
      const size = pending.readUInt32BE(end);
      if (pending.length - end - 4 < size) break;
      end += 4 + size;
    }
    if (end === 0) return;
    // Complete frames go back as they came (one write for all of them); the rest waits for more bytes.
    socket.write(end === pending.length ? pending : pending.subarray(0, end));
    pending = end === pending.length ? Buffer.alloc(0) : pending.subarray(end);
  });
  socket.on("error", () => socket.destroy());
});
server.listen(0, "127.0.0.1", () => serveHelper({ port: server.address().port }, {}, () => server.close()));
