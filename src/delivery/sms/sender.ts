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
