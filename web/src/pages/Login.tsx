import { useState } from 'preact/hooks';
import { ApiError, errText, login, type Session } from '../api';

export function LoginPage(props: { onLogin: (s: Session) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    // Read the fields themselves: autofill and scripted input may not fire input events.
    const form = e.currentTarget as HTMLFormElement;
    const user = (form.elements.namedItem('username') as HTMLInputElement).value.trim();
    const pass = (form.elements.namedItem('password') as HTMLInputElement).value;
    setUsername(user);
    if (!user || !pass) {
      setError('Enter your username and password.');
      return;
    }
    setBusy(true);
    setError('');
    try {
      const s = await login(user, pass);
      props.onLogin(s);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setError('Invalid username or password.');
      else if (err instanceof ApiError && err.status === 429) setError('Too many attempts. Wait a moment and try again.');
      else setError(errText(err));
      setPassword('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="login-screen">
      <form class="login-card" id="login-form" onSubmit={submit} noValidate>
        <div class="login-brand">
          <svg viewBox="0 0 32 32" width="30" height="30" aria-hidden="true">
            <rect width="32" height="32" rx="7" fill="#1e293b" />
            <path d="M7 9l9 15 9-15" fill="none" stroke="#38bdf8" stroke-width="3.2" stroke-linecap="round" stroke-linejoin="round" />
            <circle cx="16" cy="9" r="2.4" fill="#38bdf8" />
          </svg>
          <span>vigil</span>
        </div>
        <p class="login-sub">Sign in to your cluster operations console.</p>
        <label class="field">
          <span>Username</span>
          <input
            id="login-username"
            name="username"
            autocomplete="username"
            autofocus
            required
            value={username}
            onInput={(e) => setUsername((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <label class="field">
          <span>Password</span>
          <input
            id="login-password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        {error && (
          <div class="alert alert-error" id="login-error" role="alert">
            {error}
          </div>
        )}
        <button id="login-submit" type="submit" class="btn btn-primary btn-block" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
