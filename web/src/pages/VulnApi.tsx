// Types and helpers of the vulnerability API (/api/vulns, docs/api.md) shared by
// the Security page and the image page.
import { getJSON } from '../api';

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'unknown';
export const SEVERITIES: Severity[] = ['critical', 'high', 'medium', 'low', 'unknown'];

export interface Counts {
  critical: number;
  high: number;
  medium: number;
  low: number;
  unknown: number;
}

export interface DBStatus {
  updated?: string;
  ageSeconds: number;
  stale: boolean;
  staleAfterSeconds: number;
  records: number;
  ecosystems: { name: string; records: number; updated: string; source: string }[];
}

export interface Progress {
  state: 'idle' | 'listing' | 'scanning' | 'rematching';
  current?: string;
  done: number;
  total: number;
  started?: string;
  lastListing?: string;
  containers: number;
  cluster: boolean;
  lastError?: string;
}

export interface ImageRow {
  digest: string;
  ref: string;
  status: 'pending' | 'scanning' | 'done' | 'error';
  error?: string;
  os?: string;
  packages: number;
  vulns: Counts;
  fixable: number;
  scannedAt?: string;
  containers: number;
  risk: number;
}

export interface TopCVE {
  id: string;
  severity: Severity;
  score?: number;
  summary: string;
  images: number;
  containers: number;
  packages: string[];
  fixed?: string;
}

export interface Overview {
  counts: Counts;
  findings: number;
  fixable: number;
  images: number;
  scanned: number;
  containers: number;
  topImages: ImageRow[];
  topCVEs: TopCVE[];
  db: DBStatus;
  progress: Progress;
}

export interface Workload {
  namespace: string;
  kind: string;
  name: string;
  images: number;
  vulns: Counts;
  fixable: number;
  containers: string[];
  pending: number;
}

export interface ContainerRow {
  namespace: string;
  pod: string;
  container: string;
  kind: string;
  workload: string;
  node?: string;
  image: string;
  digest: string;
  status: string;
  error?: string;
  vulns: Counts;
  fixable: number;
}

export interface ComplianceWorkload {
  namespace: string;
  kind: string;
  name: string;
  failed: { critical: number; high: number; medium: number; low: number };
  passed: number;
}

export interface Finding {
  id: string;
  aliases?: string[];
  summary?: string;
  severity: Severity;
  score?: number;
  vector?: string;
  package: string;
  version: string;
  ecosystem: string;
  type: string;
  source?: string;
  path: string;
  layer: number;
  baseLayer?: boolean;
  fixed?: string;
  remediation: string;
  url?: string;
}

export interface Remediation {
  package: string;
  packages?: string[];
  type: string;
  path: string;
  from: string;
  to?: string;
  layer: number;
  baseLayer?: boolean;
  findings: number;
  severity: Severity;
  command?: string;
  text: string;
}

export interface Package {
  name: string;
  version: string;
  ecosystem: string;
  type: string;
  purl: string;
  sourceName?: string;
  path: string;
  layer: number;
}

export interface Layer {
  index: number;
  diffID?: string;
  command?: string;
  empty?: boolean;
  base?: boolean;
}

export interface Report {
  target: string;
  kind: string;
  digest?: string;
  os?: string;
  scannedAt: string;
  durationMs: number;
  layers?: Layer[];
  packages: Package[];
  findings: Finding[];
  remediations: Remediation[];
  counts: Record<Severity, number>;
  warnings?: string[];
}

export interface ImageDetail {
  image: ImageRow;
  report: Report | null;
  containers: ContainerRow[];
}

export const vulnOverview = (signal?: AbortSignal) => getJSON<Overview>('/api/vulns/overview', undefined, signal);
export const vulnImages = (signal?: AbortSignal) => getJSON<ImageRow[]>('/api/vulns/images', undefined, signal);
export const vulnWorkloads = (signal?: AbortSignal) => getJSON<Workload[]>('/api/vulns/workloads', undefined, signal);
export const vulnContainers = (signal?: AbortSignal) => getJSON<ContainerRow[]>('/api/vulns/containers', undefined, signal);
export const vulnImage = (digest: string, signal?: AbortSignal) =>
  getJSON<ImageDetail>(`/api/vulns/images/${encodeURIComponent(digest)}`, undefined, signal);

/** Compliance failures per workload, when the compliance area serves them (null otherwise). */
export async function complianceWorkloads(signal?: AbortSignal): Promise<ComplianceWorkload[] | null> {
  try {
    return (await getJSON<ComplianceWorkload[] | null>('/api/compliance/workloads', undefined, signal)) ?? [];
  } catch {
    return null;
  }
}

/** The worst level present, for colouring: critical > high > medium > low > clean. */
export function riskLevel(c: Counts | undefined, compliance?: ComplianceWorkload['failed']): Severity | 'clean' {
  const crit = (c?.critical ?? 0) + (compliance?.critical ?? 0);
  const high = (c?.high ?? 0) + (compliance?.high ?? 0);
  const med = (c?.medium ?? 0) + (compliance?.medium ?? 0);
  const low = (c?.low ?? 0) + (compliance?.low ?? 0);
  if (crit) return 'critical';
  if (high) return 'high';
  if (med) return 'medium';
  if (low) return 'low';
  if (c?.unknown) return 'unknown';
  return 'clean';
}

export function fmtAge(seconds: number): string {
  if (seconds < 90) return `${Math.max(0, Math.round(seconds))}s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}

export function shortDigest(d: string): string {
  return d.startsWith('sha256:') ? d.slice(7, 19) : d;
}
