/** The usage text of the agent-mesh command and of each subcommand. */
import { exampleHandlers } from "../node/examples.js";

/** The subcommands. */
export const COMMANDS = ["node", "agents", "status", "submit", "vote", "auction", "solve", "trace", "demo"] as const;

/** A subcommand's name. */
export type CommandName = (typeof COMMANDS)[number];

/** The built-in capabilities `agent-mesh node` serves without --agent. */
export const BUILT_IN_CAPABILITIES: readonly string[] = Object.keys(exampleHandlers);

const MAIN = `Usage: agent-mesh <command> [options]

Peer-to-peer agent networks over gRPC.

Commands:
  node     run an agent node
  agents   list the agents a node knows, with their membership status
  status   show a node's status; with --all, every node's and whether their states agree
  submit   submit a task to a node and print its result
  vote     run a consensus round among agents and print the decision
  auction  auction a task among the capable agents and print bids, winner and result
  solve    solve a problem collaboratively (brainstorm, critique, vote, implement)
  trace    print a task's trace across the nodes, by its correlation id
  demo     run a local mesh of node processes and route tasks across it

Run "agent-mesh <command> --help" for the options of a command.
Exit codes: 0 success, 1 failure, 2 bad usage.
Traces: with OTEL_EXPORTER_OTLP_ENDPOINT set, node exports its spans, and submit, vote, auction and solve
the span of their call (the root of the task's trace); see the README's "Tracing".`;

const NODE = `Usage: agent-mesh node --id ID --port PORT --capabilities CAP,... [options]

Runs an agent node until SIGTERM or SIGINT, then drains and exits 0. Once it serves, prints one JSON line
on stdout: {"event":"ready","id":ID,"address":"HOST:PORT","capabilities":[...]}. Logs go to stderr.

Options:
  --id ID                 agent id (1-128 of A-Z a-z 0-9 . _ : -)
  --port PORT             port to listen on, 0 to pick a free one
  --capabilities CAP,...  capabilities to serve; required without --agent, one or more of the
                          built-ins: ${BUILT_IN_CAPABILITIES.join(", ")}
  --host HOST             interface to listen on (default 127.0.0.1)
  --seeds HOST:PORT,...   agents to join the mesh through
  --capacity N            tasks run at once at most (default 4)
  --agent MODULE          ES module (path from the current directory) whose default export
                          (node: AgentNode) => void | Promise<void> registers handlers with
                          node.announceCapability(name, handler); --capabilities then keeps only those listed
  --log-level LEVEL       debug, info, warn, error or silent (default: $AGENT_MESH_LOG_LEVEL, else info)
  --discovery MODE        how peers are found: embedded (default: --seeds and SWIM), consul (register
                          with Consul and watch it), hybrid (Consul finds peers, SWIM detects failures)
  --consul-addr URL       Consul agent HTTP API, http(s)://HOST:PORT (default: $CONSUL_HTTP_ADDR, else
                          http://127.0.0.1:8500); the ACL token comes from $CONSUL_HTTP_TOKEN
  --consul-service NAME   Consul service name of the mesh (default agent-mesh)
  --consul-check KIND     grpc: Consul calls the node's gRPC health service (default); ttl: the node
                          reports to Consul itself (when Consul cannot reach it)
  -h, --help              show this help`;

const AGENTS = `Usage: agent-mesh agents --to HOST:PORT [--json] [--timeout MS]

Lists the agents a node knows, itself included: id, address, capabilities, load/capacity, membership
status (alive, suspect, dead, left: dead and left members stay listed for a while) and draining.

Options:
  --to HOST:PORT          the node to ask
  --json                  print a JSON array of {id, address, capabilities, load, capacity, status, draining}
  --timeout MS            how long to wait for the answer (default 5000)
  -h, --help              show this help`;

const STATUS = `Usage: agent-mesh status --to HOST:PORT [--all] [--json] [--timeout MS]

Shows a node's view of itself and the mesh: lifecycle, load/capacity and queued tasks, the digest
(state hash), entries and Lamport clock of its replicated state, gossip rounds, members by status
(alive, suspect, dead, left), its incarnation, the failure detector's health score (0 is healthy)
and tasks waiting for a capable agent.

With --all, also asks every alive member that node lists and prints one row per node, then
"converged: yes" when every node that answered reports the same state hash, else
"converged: no (K distinct digests)". Members that do not answer are listed as unreachable.
Exits 0 either way; 1 when the node named by --to does not answer.

Options:
  --to HOST:PORT          the node to ask
  --all                   also ask every alive member it lists
  --json                  print JSON: the status record, or with --all
                          {nodes, unreachable, converged, distinctDigests}
  --timeout MS            how long to wait for each answer (default 5000)
  -h, --help              show this help`;

const SUBMIT = `Usage: agent-mesh submit --to HOST:PORT --capability CAP --input JSON [--timeout MS] [--json]

Submits a task to a node, which routes it to the best capable agent. Prints the output as JSON on stdout
and "correlation_id=ID agent=ID" on stderr. A task error exits 1 with "agent-mesh: CODE: message".

Options:
  --to HOST:PORT          the node to submit to
  --capability CAP        the capability the task needs
  --input JSON            the task's input, a JSON value (e.g. '"hello"' or '{"ms":100}')
  --timeout MS            how long the task may take (default: the node's, 30000)
  --json                  print {output, agentId, taskId, correlationId, hops, durationMs}
  -h, --help              show this help`;

const TRACE = `Usage: agent-mesh trace --to HOST:PORT CORRELATION_ID [--json] [--timeout MS]

Prints the trace of one task without a trace collector: gathers the spans with that correlation id (the
one "agent-mesh submit" prints) from the node at HOST:PORT and every agent it lists, joins them into one
tree by parent span across nodes, and prints a waterfall: agent, span, duration, status and a timeline
bar; under a span, its events (· reassign, · retry, · queued, ...) and links (↗ link). Each node keeps
its recent spans in a bounded ring (AGENT_MESH_TRACE_RING_SIZE, default 4096 spans,
AGENT_MESH_TRACE_RING_SPAN_BYTES, default 512 bytes of ring per span).
Exit 1 when no node holds a span of that correlation id.

Options:
  --to HOST:PORT          the node to start from
  --json                  print {correlationId, traces: [{traceId, agents, durationMs, spans: [...]}],
                          missingAgents}; spans depth-first with depth, events and links, times
                          in Unix nanoseconds
  --timeout MS            how long to wait for each node's answer (default 5000)
  -h, --help              show this help`;

const DEMO = `Usage: agent-mesh demo [--nodes N] [--tasks N] [--json]

Starts a local mesh of node processes on loopback (the first is the seed of the others, with
overlapping capabilities), submits tasks to all of them with live progress, prints who did what,
stops every node and exits 0.

Options:
  --nodes N               node processes to start, 3 to 16 (default 5)
  --tasks N               tasks to submit, 1 to 10000 (default 60)
  --json                  print the summary as JSON on stdout (progress goes to stderr)
  -h, --help              show this help`;

const VOTE = `Usage: agent-mesh vote --to HOST:PORT --question TEXT --options a,b,c [--capability C] [--voters ID,...]
                       [--quorum N] [--deadline MS] [--json]

Asks the voters (the agents listed, else every alive agent with the capability, else every alive agent)
the question through the node, and prints the decision: choice, confidence, tally, every vote and every
abstention. A voter that does not answer by the deadline abstains. Exits 1 when the quorum is missed.

Options:
  --to HOST:PORT          the node that runs the round
  --question TEXT         the question
  --options A,B,...       the allowed choices
  --capability CAP        only agents with this capability vote
  --voters ID,...         these agents vote
  --quorum N              votes needed (default: a strict majority of the voters)
  --deadline MS           how long the round may take (default 5000)
  --json                  print the decision as JSON
  -h, --help              show this help`;

const AUCTION = `Usage: agent-mesh auction --to HOST:PORT --capability CAP --input JSON [--deadline MS] [--timeout MS] [--json]

Announces the task to every capable agent through the node, collects bids until all answered (or the
deadline), awards it to the best score and runs it there; if the winner fails the runner-up takes it.
Prints the bids, the winner and the result.

Options:
  --to HOST:PORT          the node that runs the auction
  --capability CAP        the capability the task needs
  --input JSON            the task's input, a JSON value
  --deadline MS           how long bidding may stay open (default 2000)
  --timeout MS            how long the awarded task may run (default 30000)
  --json                  print {winner, output, bids, declined, awards, taskId, correlationId, biddingMs, durationMs}
  -h, --help              show this help`;

const SOLVE = `Usage: agent-mesh solve --to HOST:PORT --problem TEXT [--agents ID,...] [--phase-timeout MS] [--json]

Runs a collaborative solve through the node: every agent brainstorms an idea, critiques and refines the
ideas, votes on them, and the winning idea's author implements it. Prints the ideas, the votes, the
solution and the implementation.

Options:
  --to HOST:PORT          the node that coordinates
  --problem TEXT          the problem
  --agents ID,...         the agents taking part (default: every alive agent)
  --phase-timeout MS      timeout of each phase (default 5000)
  --json                  print {solution, implementer, result, trail, correlationId, durationMs}
  -h, --help              show this help`;

const USAGE: Record<CommandName, string> = {
  node: NODE,
  agents: AGENTS,
  status: STATUS,
  submit: SUBMIT,
  vote: VOTE,
  auction: AUCTION,
  solve: SOLVE,
  trace: TRACE,
  demo: DEMO,
};

/** The usage text of `command`, or of agent-mesh itself. */
export function usage(command?: CommandName): string {
  return command === undefined ? MAIN : USAGE[command];
}

/** True when `name` is a subcommand. */
export function isCommand(name: string): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name);
}
