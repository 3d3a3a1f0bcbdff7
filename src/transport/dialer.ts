/** The one thing a transport implementation must provide to open links: a bidirectional stream of frames. */
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";

/**
 * Opens one stream to a peer: sends the frames of `outgoing` and yields the frames received. The returned
 * iterable ends when the peer ends the stream and throws when the stream fails. Aborting `signal` tears the
 * stream down.
 */
export type Dialer = (outgoing: AsyncIterable<Envelope[]>, signal: AbortSignal) => AsyncIterable<Envelope[]>;
