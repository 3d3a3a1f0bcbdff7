/** The one thing a transport implementation must provide to open links: a bidirectional stream of frames. */
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";

/**
 * Opens one stream to a peer: sends the frames of `outgoing` (arrays of `Q`, what the transport prepares per
 * envelope) and yields the frames received, decoded. The returned iterable ends when the peer ends the stream
 * and throws when the stream fails. Aborting `signal` tears the stream down.
 */
export type Dialer<Q = Envelope> = (outgoing: AsyncIterable<Q[]>, signal: AbortSignal) => AsyncIterable<Envelope[]>;
