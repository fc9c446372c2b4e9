/** The e-mail port: what the domain needs from any mail provider. */
export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface EmailSender {
  readonly name: string;
  sendEmail(message: EmailMessage): Promise<void>;
}
