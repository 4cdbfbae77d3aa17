import { Icon, type IconName } from '../components/icons';
import { PageHeader } from '../components/ui';

export interface ComingProps {
  title: string;
  icon: IconName;
  summary: string;
  items: string[];
}

export const COMING: Record<string, ComingProps> = {
  monitors: {
    title: 'Monitors',
    icon: 'bell',
    summary: 'Alerting on the metrics and logs vigil already collects.',
    items: [
      'Threshold monitors on any PromQL expression or LogsQL query',
      'Anomaly monitors that learn each series’ normal range',
      'Forecast monitors that warn before a disk or quota fills up',
      'Notifications by e-mail and webhook, with silences and repeat intervals',
    ],
  },
  security: {
    title: 'Security',
    icon: 'shield',
    summary: 'Knowing what runs in the cluster and how exposed it is.',
    items: [
      'Vulnerability scanning of every container image running in the cluster',
      'Findings per workload, namespace and severity, with fixed versions',
      'Compliance checks of nodes and workloads against common benchmarks',
      'Tracking of new and resolved findings over time',
    ],
  },
  events: {
    title: 'Events',
    icon: 'events',
    summary: 'The Kubernetes event stream, kept and searchable.',
    items: [
      'A live stream of Kubernetes events across all namespaces',
      'Filters by namespace, object kind, reason and type (Normal / Warning)',
      'Events kept beyond the API server’s short retention',
      'Links from an event to the pod’s logs and the node’s metrics',
    ],
  },
  automation: {
    title: 'Automation',
    icon: 'automation',
    summary: 'Rolling out and keeping the cluster as declared.',
    items: [
      'Helm release rollouts with history and one-click rollback',
      'Terraform plans and applies with the output kept for review',
      'Drift detection between the declared and the running state',
      'Rollouts gated on monitor status',
    ],
  },
};

export function ComingNext(props: ComingProps) {
  return (
    <div class="page">
      <PageHeader title={props.title} />
      <div class="panel coming" id="coming-next">
        <div class="coming-icon">
          <Icon name={props.icon} size={28} />
        </div>
        <div>
          <div class="coming-badge">Coming next</div>
          <h2>{props.summary}</h2>
          <p class="muted">This part of vigil is not built yet. It is planned to bring:</p>
          <ul>
            {props.items.map((i) => (
              <li key={i}>{i}</li>
            ))}
          </ul>
        </div>
      </div>
    </div>
  );
}
