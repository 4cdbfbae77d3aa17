// Types and calls of the compliance API (/api/compliance/...).
import { getJSON, sendJSON } from '../api';
import type { Severity as VulnSeverity } from './VulnApi';

export type Sev = 'critical' | 'high' | 'medium' | 'low';
export const SEVS: Sev[] = ['critical', 'high', 'medium', 'low'];

export interface Framework {
  id: string;
  name: string;
}

export interface Score {
  id: string;
  name: string;
  score: number;
  passed: number;
  failed: number;
  controls: number;
  failedControls: number;
  failedBySeverity: Record<Sev, number>;
}

export interface ControlStatus {
  id: string;
  title: string;
  severity: Sev;
  rationale: string;
  remediation: string;
  targets: string[];
  cis?: string[];
  ciseks?: string[];
  nsa?: string[];
  pss?: string;
  custom?: boolean;
  passed: number;
  failed: number;
  unknown: number;
  excepted: number;
}

export interface Summary {
  time: string | null;
  durationMs: number;
  frameworks: Framework[];
  scores: Score[];
  failedBySeverity: Record<Sev, number>;
  objects: number;
  namespaces: string[];
  controls: ControlStatus[];
  cluster: boolean;
}

export interface Exception {
  id?: number;
  control: string;
  namespace?: string;
  kind?: string;
  name?: string;
  reason: string;
  owner: string;
  expires: string;
  created?: string;
}

export interface Finding {
  control: string;
  title: string;
  severity: Sev;
  status: 'fail' | 'unknown';
  message: string;
  kind: string;
  namespace?: string;
  name: string;
  path?: string;
  exception?: Exception;
}

/** Which sections a report has. */
export type ReportKind = 'compliance' | 'vulnerabilities' | 'both';
export const REPORT_KINDS: { value: ReportKind; label: string }[] = [
  { value: 'compliance', label: 'Compliance' },
  { value: 'vulnerabilities', label: 'Vulnerabilities' },
  { value: 'both', label: 'Both' },
];
/** Reports stored before kinds existed are compliance reports. */
export const hasCompliance = (k: ReportKind | undefined) => (k ?? 'compliance') !== 'vulnerabilities';
export const hasVulns = (k: ReportKind | undefined) => k === 'vulnerabilities' || k === 'both';

/** The headline of a report's vulnerability section. */
export interface ReportVulnSummary {
  countsBySeverity: Partial<Record<VulnSeverity, number>>;
  findings: number;
  fixable: number;
  images: number;
  new: number;
  fixed: number;
}

export interface StoredReport {
  id: number;
  scheduleId?: number;
  kind: ReportKind;
  time: string;
  title: string;
  /** The compliance figures are empty in a vulnerabilities report. */
  summary: {
    scores: Score[] | null;
    failedBySeverity: Record<Sev, number>;
    new: number;
    fixed: number;
    vulnerabilities?: ReportVulnSummary;
  };
  recipients?: string[];
  mailError?: string;
}

export interface Schedule {
  id?: number;
  name: string;
  kind: ReportKind;
  cadence: 'daily' | 'weekly';
  hour: number;
  weekday: number;
  recipients: string[];
  nextRun?: string;
  lastRun?: string;
}

export const complianceSummary = (signal?: AbortSignal) => getJSON<Summary>('/api/compliance/summary', undefined, signal);
export const complianceFindings = (params: Record<string, string>, signal?: AbortSignal) =>
  getJSON<{ total: number; findings: Finding[] }>('/api/compliance/findings', params, signal);
export const complianceScan = () => sendJSON<unknown>('POST', '/api/compliance/scan');
export const listExceptions = () => getJSON<Exception[]>('/api/compliance/exceptions');
export const addException = (x: Exception) => sendJSON<Exception>('POST', '/api/compliance/exceptions', x);
export const deleteException = (id: number) => sendJSON<null>('DELETE', `/api/compliance/exceptions/${id}`);
export const listReports = () => getJSON<StoredReport[]>('/api/compliance/reports');
/** An empty title lets the server name the report after its kind. */
export const generateReport = (kind: ReportKind, title: string, recipients: string[]) =>
  sendJSON<StoredReport>('POST', '/api/compliance/reports', { kind, title, recipients });
export const listSchedules = () => getJSON<Schedule[]>('/api/compliance/report-schedules');
export const addSchedule = (s: Schedule) => sendJSON<Schedule>('POST', '/api/compliance/report-schedules', s);
export const deleteSchedule = (id: number) => sendJSON<null>('DELETE', `/api/compliance/report-schedules/${id}`);
export const runSchedule = (id: number) => sendJSON<StoredReport>('POST', `/api/compliance/report-schedules/${id}/run`);

/** The framework references of a control, e.g. "CIS 5.2.2 · PSS baseline". */
export function refs(c: ControlStatus): string[] {
  const out: string[] = [];
  if (c.cis?.length) out.push(`CIS ${c.cis.join(', ')}`);
  if (c.ciseks?.length) out.push(`CIS EKS ${c.ciseks.join(', ')}`);
  if (c.pss) out.push(`PSS ${c.pss}`);
  if (c.nsa?.length) out.push(`NSA ${c.nsa.map((s) => s.split(': ').pop()).join('; ')}`);
  return out;
}
