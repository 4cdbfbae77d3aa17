export type IconName =
  | 'overview'
  | 'server'
  | 'logs'
  | 'bell'
  | 'shield'
  | 'events'
  | 'automation'
  | 'settings'
  | 'user';

// 16x16 stroke icons.
const PATHS: Record<IconName, string> = {
  overview: 'M2.5 2.5h4.5v5.5h-4.5zM9 2.5h4.5v3h-4.5zM9 7.5h4.5v6h-4.5zM2.5 10h4.5v3.5h-4.5z',
  server: 'M2.5 2.5h11v4.5h-11zM2.5 9h11v4.5h-11zM5 4.75h.01M5 11.25h.01',
  logs: 'M3 3.5h10M3 6.5h10M3 9.5h7M3 12.5h8.5',
  bell: 'M4 11V7.5a4 4 0 0 1 8 0V11l1.2 1.5H2.8zM6.5 14h3',
  shield: 'M8 1.8l5 2v4c0 3.2-2.2 5.3-5 6.4-2.8-1.1-5-3.2-5-6.4v-4zM5.8 8l1.6 1.6 2.9-3',
  events: 'M1.5 8h3l1.8-4.5 3.4 9 1.8-4.5h3',
  automation: 'M9 1.5L3.5 9H8l-1 5.5L12.5 7H8z',
  settings:
    'M8 5.5a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5zM8 1.5v2M8 12.5v2M1.5 8h2M12.5 8h2M3.4 3.4l1.4 1.4M11.2 11.2l1.4 1.4M3.4 12.6l1.4-1.4M11.2 4.8l1.4-1.4',
  user: 'M8 8a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM2.5 14.5c.6-2.7 2.8-4.2 5.5-4.2s4.9 1.5 5.5 4.2',
};

export function Icon(props: { name: IconName; size?: number }) {
  const s = props.size ?? 16;
  return (
    <svg class="icon" viewBox="0 0 16 16" width={s} height={s} aria-hidden="true">
      <path d={PATHS[props.name]} fill="none" stroke="currentColor" stroke-width="1.4" stroke-linecap="round" stroke-linejoin="round" />
    </svg>
  );
}
