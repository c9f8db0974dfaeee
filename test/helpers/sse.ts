// Server-sent events as a test reads them from the console's event stream.

/** Read server-sent events until the response ends or is aborted: each block's `event:` name and parsed `data:`. */
export async function readEvents(res: Response, onEvent: (event: string | undefined, data: unknown) => void): Promise<void> {
  const dec = new TextDecoder();
  let buf = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true });
      for (let i; (i = buf.indexOf('\n\n')) >= 0; buf = buf.slice(i + 2)) {
        const block = buf.slice(0, i).split('\n');
        const data = block.find((l) => l.startsWith('data: '));
        if (data) onEvent(block.find((l) => l.startsWith('event: '))?.slice(7), JSON.parse(data.slice(6)));
      }
    }
  } catch {
    // aborted
  }
}
