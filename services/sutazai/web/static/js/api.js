// Calls to the services' own APIs on this origin. The session is an HttpOnly cookie the
// scripts never see; requests that change something carry the CSRF header the services require.

export class ApiError extends Error {
  constructor(status, detail, body) {
    super(detail);
    this.status = status;
    this.body = body;
  }
}

let onSignedOut = () => {};
export function whenSignedOut(handler) { onSignedOut = handler; }

const CSRF = { 'X-SutazAI-CSRF': '1' };

async function errorFrom(response) {
  let body = null;
  let detail = `${response.status} ${response.statusText}`;
  try {
    body = await response.json();
    detail = body.detail || body.title || detail;
  } catch { /* not JSON */ }
  if (response.status === 401) onSignedOut(detail);
  return new ApiError(response.status, detail, body);
}

export async function api(path, { method = 'GET', body, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') Object.assign(headers, CSRF);
  const init = { method, headers, credentials: 'same-origin', signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'the server could not be reached; check that SutazAI is running');
  }
  if (!response.ok) throw await errorFrom(response);
  return response.status === 204 ? null : response.json();
}

// POST that answers with server-sent events; yields {event, data} as they arrive.
export async function* stream(path, body, signal) {
  const response = await fetch(path, {
    method: 'POST', credentials: 'same-origin', signal,
    headers: { ...CSRF, 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await errorFrom(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let match;
    while ((match = /\r?\n\r?\n/.exec(buffer))) {
      const event = parseEvent(buffer.slice(0, match.index));
      buffer = buffer.slice(match.index + match[0].length);
      if (event) yield event;
    }
  }
}

function parseEvent(chunk) {
  let event = 'message';
  const data = [];
  for (const line of chunk.split(/\r?\n/)) {
    if (!line || line.startsWith(':')) continue;
    const at = line.indexOf(':');
    const name = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
    if (name === 'event') event = value;
    else if (name === 'data') data.push(value);
  }
  return data.length ? { event, data: JSON.parse(data.join('\n')) } : null;
}

// Multipart upload with progress (fetch cannot report upload progress; XHR can).
export function upload(path, file, fields, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('X-SutazAI-CSRF', '1');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.addEventListener('load', () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) { resolve(body); return; }
      if (xhr.status === 401) onSignedOut(body?.detail);
      reject(new ApiError(xhr.status, body?.detail || `upload failed (HTTP ${xhr.status})`, body));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'the upload did not reach the server')));
    const form = new FormData();
    form.append('file', file);
    for (const [key, value] of Object.entries(fields)) if (value) form.append(key, value);
    xhr.send(form);
  });
}

export async function collections() {
  return api('/api/knowledge/v1/collections');
}
