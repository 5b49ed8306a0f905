/**
 * Moonshot-style files on the local test server: `POST /v1/files` (multipart), `GET /v1/files`
 * (the list), `GET /v1/files/:id/content` (Moonshot's extracted-content JSON) and
 * `DELETE /v1/files/:id`, with the shapes of Moonshot's API reference
 * (platform.kimi.ai/docs/api/files-upload, files-list).
 *
 * Node built-ins only, no test framework: it must be able to ship.
 */
import type { ServerResponse } from 'node:http';
import { NO_FAULT } from './faults.js';
import { sendError } from './replies.js';

export interface StoredFile {
  readonly id: string;
  readonly filename: string;
  readonly purpose: string;
  readonly text: string;
  readonly bytes: number;
  deleted: boolean;
}

export interface FilesOptions {
  /**
   * Store each upload, then never answer it: the file is on the server but its id never reaches
   * the client (an upload aborted after the vendor stored it). @default false
   */
  readonly hangUploadsAfterStore?: boolean;
  /**
   * Never answer an upload either, and store it only once the next `GET /v1/files` has been
   * answered (`true`), or the next N (a number): an upload the vendor stores after the client's
   * lists were read. Once the held uploads are stored, later ones are answered as usual.
   * @default false
   */
  readonly storeUploadsAfterList?: boolean | number;
}

export class FilesRoutes {
  readonly files = new Map<string, StoredFile>();
  private nextFile = 1;
  /** Uploads held back by `storeUploadsAfterList` until the lists it names have been answered. */
  private readonly unlisted: StoredFile[] = [];
  /** Lists still to answer before the held uploads are stored; 0 once they were. */
  private listsToHold: number;
  /** Uploads whose body is still being read: a list waits for them, so it sees what arrived before it. */
  private readonly reading = new Set<Promise<void>>();

  constructor(private readonly options: FilesOptions) {
    const hold = options.storeUploadsAfterList;
    this.listsToHold = hold === true ? 1 : typeof hold === 'number' ? hold : 0;
  }

  /** Answers a files route; `false` when the path is not one. */
  async handle(res: ServerResponse, method: string, path: string, raw: Buffer, contentType: string) {
    if (path === '/v1/files' && method === 'POST') {
      const reading = this.upload(res, raw, contentType);
      this.reading.add(reading);
      return reading.then(() => true).finally(() => this.reading.delete(reading));
    }
    if (path === '/v1/files' && method === 'GET') {
      await Promise.allSettled([...this.reading]);
      const data = [...this.files.values()].filter((f) => !f.deleted).map(fileObject);
      json(res, { object: 'list', data });
      if (this.listsToHold > 0 && --this.listsToHold === 0) {
        for (const held of this.unlisted.splice(0)) this.files.set(held.id, held);
      }
      return true;
    }
    const match = /^\/v1\/files\/([^/]+)(\/content)?$/.exec(path);
    const file = match?.[1] === undefined ? undefined : this.files.get(match[1]);
    if (file === undefined || file.deleted) return false;
    if (method === 'GET' && match?.[2] !== undefined) {
      return json(res, {
        content: file.text,
        file_type: 'text/plain',
        filename: file.filename,
        title: '',
        type: 'file',
      });
    }
    if (method === 'DELETE' && match?.[2] === undefined) {
      file.deleted = true;
      return json(res, { id: file.id, object: 'file', deleted: true });
    }
    return false;
  }

  private async upload(res: ServerResponse, raw: Buffer, contentType: string): Promise<void> {
    const bytes = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
    const form = await new Response(bytes, { headers: { 'content-type': contentType } }).formData();
    const part = form.get('file');
    if (part === null || typeof part === 'string')
      return sendError(res, 400, 'Expected a `file` part', NO_FAULT, '');
    const id = `file-${this.nextFile++}`;
    const stored: StoredFile = {
      id,
      filename: part.name,
      purpose: String(form.get('purpose') ?? ''),
      text: await part.text(),
      bytes: part.size,
      deleted: false,
    };
    if (this.listsToHold > 0) return void this.unlisted.push(stored);
    this.files.set(id, stored);
    if (this.options.hangUploadsAfterStore === true) return;
    json(res, fileObject(stored));
  }
}

function fileObject(file: StoredFile) {
  return {
    id: file.id,
    object: 'file',
    bytes: file.bytes,
    created_at: 0,
    filename: file.filename,
    purpose: file.purpose,
    status: 'ok',
  };
}

function json(res: ServerResponse, body: unknown): true {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
  return true;
}
