/**
 * A real SMTP server (the smtp-server package) for delivery tests, whose answer the test sets:
 * accept, refuse with a temporary error (451), or stall in DATA without ever answering (a send
 * in flight, for killing the sender mid-send).
 */
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { freePort } from './server.ts';

export type SMTPMode = 'accept' | 'refuse' | 'stall';

export interface ControlledSMTP {
  port: number;
  url: string;
  mode: SMTPMode;
  /** Messages accepted, in order. */
  received: ParsedMail[];
  refused: number;
  /** Messages held without an answer. */
  stalled: number;
  close(): Promise<void>;
}

export async function startControlledSMTP(mode: SMTPMode = 'accept'): Promise<ControlledSMTP> {
  const port = await freePort();
  const controlled: ControlledSMTP = {
    port,
    url: `smtp://127.0.0.1:${port}`,
    mode,
    received: [],
    refused: 0,
    stalled: 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    onRcptTo(_address, _session, callback) {
      if (controlled.mode !== 'refuse') return callback();
      controlled.refused += 1;
      return callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
    },
    onData(stream, _session, callback) {
      const stall = controlled.mode === 'stall';
      simpleParser(stream)
        .then((mail) => {
          if (stall) {
            controlled.stalled += 1;
            return; // never answered: the sender waits until it dies or times out
          }
          controlled.received.push(mail);
          callback();
        })
        .catch(callback);
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return controlled;
}
