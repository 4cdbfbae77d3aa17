// Types and calls for the cluster views (/api/cluster/*) and the events stream (/api/events).
import { getJSON, sendJSON, withParams, type Params } from './api';

export type Health = 'ok' | 'warning' | 'critical' | 'unknown';

export interface ContainerView {
  namespace: string;
  pod: string;
  name: string;
  node: string;
  workload?: string;
  workloadKind?: string;
  image: string;
  state: string;
  reason?: string;
  ready: boolean;
  restarts: number;
  startedAt?: string;
  zone?: string;
  region?: string;
  health: Health;
}

export interface PodView {
  namespace: string;
  name: string;
  uid: string;
  node: string;
  phase: string;
  status: string;
  readyContainers: number;
  restarts: number;
  workload?: string;
  workloadKind?: string;
  ip?: string;
  labels?: Record<string, string>;
  created: string;
  health: Health;
  containers: ContainerView[];
}

export interface WorkloadView {
  namespace: string;
  kind: string;
  name: string;
  desired: number;
  ready: number;
  available: number;
  labels?: Record<string, string>;
  selector?: Record<string, string>;
  created: string;
  health: Health;
  pods: string[];
}

export interface ServiceView {
  namespace: string;
  name: string;
  type: string;
  clusterIP?: string;
  ports?: string[];
  selector?: Record<string, string>;
  workloads: string[];
}

export interface NodeState {
  name: string;
  labels: Record<string, string>;
  ready: boolean;
  cpuCores: number;
  memoryBytes: number;
  zone?: string;
  region?: string;
  unschedulable: boolean;
  pressure?: string[];
  pods: number;
  health: Health;
}

export interface VEvent {
  time: string;
  type: string;
  source: string;
  reason: string;
  message: string;
  namespace?: string;
  kind?: string;
  name?: string;
  node?: string;
  count?: number;
  marker?: boolean;
  tags?: Record<string, string>;
}

export interface Usage {
  namespace: string;
  pod: string;
  value: number;
}

export interface Overview {
  nodes: { total: number; ready: number };
  namespaces: number;
  pods: { total: number; byPhase: Record<string, number> };
  containers: { total: number; running: number; waiting: number; restarts: number };
  deployments: { total: number; ready: number; desiredReplicas: number; readyReplicas: number };
  workloads: Record<string, number>;
  services: number;
  ingresses: number;
  pvcs: number;
  topCPU: Usage[];
  topMemory: Usage[];
  nodeHealth: NodeState[];
  warnings: VEvent[];
  unhealthyPods: PodView[];
}

export interface MapWorkload extends WorkloadView {
  podViews: PodView[];
}

export interface MapNamespace {
  name: string;
  health: Health;
  workloads: MapWorkload[];
  services: ServiceView[];
}

export interface ResourceRow {
  kind: 'cluster' | 'node' | 'namespace' | 'workload' | 'pod';
  namespace?: string;
  name: string;
  health: Health;
  status?: string;
  cpuCores: number;
  memoryBytes: number;
  cpuPercent: number | null;
  memoryPercent: number | null;
  pods?: number;
  node?: string;
  workload?: string;
}

export interface ContainerRow extends ContainerView {
  podStatus: string;
  cpuCores: number;
  memoryBytes: number;
}

export const clusterOverview = (signal?: AbortSignal) => getJSON<Overview>('/api/cluster/overview', undefined, signal);
export const clusterMap = (signal?: AbortSignal) => getJSON<MapNamespace[]>('/api/cluster/map', undefined, signal);
export const clusterResources = (range: string, signal?: AbortSignal) =>
  getJSON<ResourceRow[]>('/api/cluster/resources', { range }, signal);
export const clusterContainers = (params: Params, signal?: AbortSignal) =>
  getJSON<ContainerRow[]>('/api/cluster/containers', params, signal);

export interface NamespaceDetail extends NamespaceSummary {
  workloadList: WorkloadView[];
  podList: PodView[];
  services: ServiceView[];
  events: VEvent[];
}
export interface NamespaceSummary {
  name: string;
  phase: string;
  labels?: Record<string, string>;
  created: string;
  pods: number;
  workloads: number;
  health: Health;
}
export interface WorkloadDetail extends WorkloadView {
  podList: PodView[];
  events: VEvent[];
}
export interface PodDetail extends PodView {
  events: VEvent[];
}

const enc = encodeURIComponent;
export const namespaceDetail = (name: string, signal?: AbortSignal) =>
  getJSON<NamespaceDetail>(`/api/cluster/namespaces/${enc(name)}`, undefined, signal);
export const workloadDetail = (ns: string, kind: string, name: string, signal?: AbortSignal) =>
  getJSON<WorkloadDetail>(`/api/cluster/workloads/${enc(ns)}/${enc(kind)}/${enc(name)}`, undefined, signal);
export const podDetail = (ns: string, name: string, signal?: AbortSignal) =>
  getJSON<PodDetail>(`/api/cluster/pods/${enc(ns)}/${enc(name)}`, undefined, signal);

export const listEvents = (params: Params, signal?: AbortSignal) => getJSON<VEvent[]>('/api/events', params, signal);
export const eventFacets = (params: Params, signal?: AbortSignal) =>
  getJSON<Record<string, { value: string; hits: number }[]>>('/api/events/facets', params, signal);
export interface EventHistogram {
  step: number;
  series: { fields: Record<string, string>; timestamps: string[]; values: number[]; total: number }[];
}
export const eventHistogram = (params: Params, signal?: AbortSignal) =>
  getJSON<EventHistogram>('/api/events/histogram', params, signal);
export const postEvent = (e: Partial<VEvent>) => sendJSON<VEvent>('POST', '/api/events', e);

// Links to the detail pages.
export const nsHref = (ns: string) => `/cluster/namespaces/${enc(ns)}`;
export const workloadHref = (ns: string, kind: string, name: string) =>
  kind === 'Pod' ? podHref(ns, name) : `/cluster/workloads/${enc(ns)}/${enc(kind)}/${enc(name)}`;
export const podHref = (ns: string, name: string) => `/cluster/pods/${enc(ns)}/${enc(name)}`;
export const logsHref = (filters: Record<string, string>) =>
  withParams('/logs', {
    query: Object.entries(filters)
      .map(([k, v]) => `${k}:=${JSON.stringify(v)}`)
      .join(' '),
  });
