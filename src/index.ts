// Public library API: re-exports only.
export { connect, isLocal, type ConnectOptions } from './connect.js';
export {
  Queue,
  DEFAULT_QUEUE,
  KEEP_INPUT_MAX_BYTES,
  prepareSubmission,
  type PreparedSubmission,
  type SetupOptions,
  type SetupResult,
  type SubmitOptions,
  type SubmitResult,
  type KillResult,
} from './queue.js';
export * from './errors.js';
export type { TejEvent, EventHandler } from './events.js';
export type { Prompter, PromptRequest } from './transport/prompt.js';
export { JOB_STATES, describeStatus, formatDuration, type JobState, type JobStatus } from './job/status.js';
export { checkJobId, defaultJobId, JOB_ID_PATTERN } from './job/id.js';
export { parseDownloadSpec, type DownloadSpec } from './download/spec.js';
export type { ExtractResult } from './download/extract.js';
export { planJob, type JobPlan, type PlanOptions } from './job/plan.js';
export { readSpec, validateSpec, parseDuration, mergeSpecs, specResources, JOB_SPEC_SCHEMA, type JobSpec, type JobResources } from './job/spec.js';
export { loadConfig, configFor, configPath, CONFIG_SCHEMA, type TejConfig, type HostConfig, type Resources } from './config.js';
export { parseDestination, type Destination } from './destination.js';
export { jobJson, JOB_OUTPUT_SCHEMA, type JobJson } from './job/json.js';
export { resolveSelection, matches, parseSince, isFailed, type Selector } from './job/select.js';
export type { JobRecord, Submission } from './job/record.js';
export type { GitInfo } from './job/git.js';
export { PROTO, VERSION } from './version.js';
