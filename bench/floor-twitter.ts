// The floor's calls to Twitter: OAuth 1.0a requests (RFC 5849) signed with
// HMAC-SHA1 over node:crypto and sent with node:http on keep-alive
// connections, as few steps as the protocol allows.
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { hmacSha1Signature, percentEncode, signatureBaseString } from '../src/sandbox/oauth1-signature.js';

export interface FloorTwitterOptions {
  readonly providerUrl: string;
  readonly consumerKey: string;
  readonly consumerSecret: string;
}

export interface TokenPair {
  readonly token: string;
  readonly secret: string;
}

export interface FloorTwitter {
  /**
   * One signed call (§3.4), answered with its form fields, or with a JSON
   * answer under the empty name; rejects on any status but 200.
   */
  call(method: 'GET' | 'POST', path: string, token: TokenPair | undefined, oauthExtra: Record<string, string>, query?: Record<string, string>): Promise<URLSearchParams>;
  close(): void;
}

export function createFloorTwitter(options: FloorTwitterOptions): FloorTwitter {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  return {
    call(method, path, token, oauthExtra, query = {}) {
      const url = `${options.providerUrl}${path}`;
      const oauth: Record<string, string> = {
        oauth_consumer_key: options.consumerKey,
        oauth_nonce: randomBytes(16).toString('hex'),
        oauth_signature_method: 'HMAC-SHA1',
        oauth_timestamp: String(Math.floor(Date.now() / 1000)),
        oauth_version: '1.0',
        ...(token ? { oauth_token: token.token } : {}),
        ...oauthExtra,
      };
      const base = signatureBaseString(method, url, [...Object.entries(oauth), ...Object.entries(query)]);
      const signature = hmacSha1Signature(base, options.consumerSecret, token?.secret ?? '');
      const header = `OAuth ${Object.entries({ ...oauth, oauth_signature: signature })
        .map(([name, value]) => `${percentEncode(name)}="${percentEncode(value)}"`)
        .join(', ')}`;
      const search = Object.keys(query).length > 0 ? `?${new URLSearchParams(query)}` : '';
      return new Promise((resolve, reject) => {
        const outgoing = request(`${url}${search}`, { method, agent, headers: { authorization: header, 'content-length': 0 } }, (answer) => {
          let text = '';
          answer.setEncoding('utf8');
          answer.on('data', (chunk: string) => (text += chunk));
          answer.on('end', () => {
            if (answer.statusCode !== 200) return reject(new Error(`${path} answered ${answer.statusCode}`));
            resolve(answer.headers['content-type']?.startsWith('application/json') ? new URLSearchParams([['', text]]) : new URLSearchParams(text));
          });
          answer.on('error', reject);
        });
        outgoing.on('error', reject);
        outgoing.end();
      });
    },
    close: () => agent.destroy(),
  };
}
