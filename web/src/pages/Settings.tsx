import { useCallback, useEffect, useState } from 'preact/hooks';
import { createToken, deleteToken, errText, listTokens, type NewToken, type Session, type Token } from '../api';
import { ErrorBox, PageHeader } from '../components/ui';
import { fmtDateTime, realTime } from '../format';

export function SettingsPage(props: { session: Session }) {
  const [tokens, setTokens] = useState<Token[] | null>(null);
  const [error, setError] = useState('');
  const [name, setName] = useState('');
  const [kind, setKind] = useState('agent');
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<NewToken | null>(null);
  const [copied, setCopied] = useState(false);

  const load = useCallback(() => {
    listTokens()
      .then((t) => {
        setTokens(t);
        setError('');
      })
      .catch((e) => setError(errText(e)));
  }, []);
  useEffect(load, [load]);

  const create = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const n = (form.elements.namedItem('name') as HTMLInputElement).value.trim();
    const k = (form.elements.namedItem('kind') as HTMLSelectElement).value;
    if (!n || busy) return;
    setBusy(true);
    setError('');
    try {
      const t = await createToken(n, k);
      setCreated(t);
      setCopied(false);
      setName('');
      load();
    } catch (err) {
      setError(errText(err));
    } finally {
      setBusy(false);
    }
  };

  const remove = async (t: Token) => {
    if (!window.confirm(`Delete token “${t.name}”? Anything using it stops working.`)) return;
    setError('');
    try {
      await deleteToken(t.id);
      if (created?.id === t.id) setCreated(null);
      load();
    } catch (err) {
      setError(errText(err));
    }
  };

  const copy = async () => {
    if (!created) return;
    try {
      await navigator.clipboard.writeText(created.token);
      setCopied(true);
    } catch {
      const el = document.getElementById('new-token-value') as HTMLInputElement | null;
      el?.select();
    }
  };

  // Columns the server fills in; hidden rather than shown empty.
  const showCreated = !!tokens?.some((t) => realTime(t.createdAt ?? t.created));
  const showUsed = !!tokens?.some((t) => 'lastUsedAt' in t || 'lastUsed' in t);

  return (
    <div class="page">
      <PageHeader title="Settings" subtitle={<>Signed in as <b>{props.session.user}</b></>} />
      <ErrorBox error={error} />
      <div class="panel">
        <div class="panel-head">
          <h2>API tokens</h2>
          <p class="muted">
            <b>Agent</b> tokens let the vigil agent send metrics and logs. <b>API</b> tokens authenticate scripts as{' '}
            <code>Authorization: Bearer &lt;token&gt;</code>.
          </p>
        </div>
        <form class="token-form" onSubmit={create}>
          <input
            id="token-name"
            name="name"
            class="input"
            placeholder="Token name, e.g. prod-cluster-agent"
            value={name}
            maxLength={100}
            onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
          />
          <select id="token-kind" name="kind" class="input" value={kind} onChange={(e) => setKind((e.currentTarget as HTMLSelectElement).value)}>
            <option value="agent">agent</option>
            <option value="api">api</option>
          </select>
          <button id="token-create" type="submit" class="btn btn-primary" disabled={busy}>
            Create token
          </button>
        </form>
        {created && (
          <div class="alert alert-ok new-token" id="new-token">
            <div>
              Token <b>{created.name}</b> created. Copy it now: it is not shown again.
            </div>
            <div class="new-token-row">
              <input id="new-token-value" class="input mono" readOnly value={created.token} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
              <button type="button" class="btn" onClick={copy}>
                {copied ? 'Copied' : 'Copy'}
              </button>
              <button type="button" class="btn btn-ghost" onClick={() => setCreated(null)}>
                Done
              </button>
            </div>
          </div>
        )}
        {tokens === null && !error && <div class="muted pad">Loading…</div>}
        {tokens !== null && tokens.length === 0 && <div class="muted pad">No tokens yet.</div>}
        {tokens !== null && tokens.length > 0 && (
          <table class="table" id="token-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>ID</th>
                {showCreated && <th>Created</th>}
                {showUsed && <th>Last used</th>}
                <th />
              </tr>
            </thead>
            <tbody>
              {tokens.map((t) => (
                <tr key={t.id} class="token-row" data-token={t.id}>
                  <td class="name">{t.name}</td>
                  <td>{t.kind ? <span class="chip">{t.kind}</span> : <span class="muted">—</span>}</td>
                  <td class="mono muted">{t.id}</td>
                  {showCreated && <td>{fmtDateTime(realTime(t.createdAt ?? t.created))}</td>}
                  {showUsed && (
                    <td>{realTime(t.lastUsedAt ?? t.lastUsed) ? fmtDateTime(t.lastUsedAt ?? t.lastUsed) : <span class="muted">never</span>}</td>
                  )}
                  <td class="actions">
                    <button type="button" class="btn btn-small btn-danger" onClick={() => remove(t)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}
