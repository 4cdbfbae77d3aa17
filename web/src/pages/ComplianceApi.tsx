// Types and calls of the compliance API (/api/compliance/...).
import { getJSON, sendJSON } from '../api';

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

export interface StoredReport {
  id: number;
  scheduleId?: number;
  time: string;
  title: string;
  summary: { scores: Score[]; failedBySeverity: Record<Sev, number>; new: number; fixed: number };
  recipients?: string[];
  mailError?: string;
}

export interface Schedule {
  id?: number;
  name: string;
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
export const generateReport = (title: string, recipients: string[]) =>
  sendJSON<StoredReport>('POST', '/api/compliance/reports', { title, recipients });
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
