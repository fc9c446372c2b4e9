/** The SMS port: what the domain needs from any text-message provider. */
export interface SMSMessage {
  /** E.164, always taken from the server-side record, never from the request. */
  to: string;
  body: string;
}

export interface SMSSender {
  readonly name: string;
  sendSMS(message: SMSMessage): Promise<void>;
}

/**
 * A provider refused or failed. The message names the provider and the HTTP status or network
 * error — never the text or the code inside it — so it can be logged as it is.
 */
export class SMSDeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}
