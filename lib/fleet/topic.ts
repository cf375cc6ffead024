/**
 * The `{pod}` and `{model}` of the topic and subject templates (llm-d's indexer reads `kv@<pod>@<model>`).
 */
import { hostname } from 'node:os';

export interface TopicValues {
  pod: string;
  model: string;
}

/** --pod-id, else POD_NAME (Kubernetes' downward API, read by the command line), else the host name. */
export function defaultPodId(): string {
  return hostname();
}

export function expandTopic(template: string, values: TopicValues): string {
  return template.replace(/\{(pod|model)\}/g, (_, key: keyof TopicValues) => values[key]);
}

/** The same for a NATS subject: a value's dots, spaces and wildcards would change its tokens, so they become _. */
export function expandSubject(template: string, values: TopicValues): string {
  return template.replace(/\{(pod|model)\}/g, (_, key: keyof TopicValues) => values[key].replace(/[.\s*>]/g, '_'));
}
