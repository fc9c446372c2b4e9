/**
 * The development outbox as a page (PRODUCT.md §5): what the server would have e-mailed or
 * texted, newest first. Bodies are shown as escaped text in <pre>, links included: nothing in a
 * message becomes markup.
 */
import type { OutboxMessage } from '../../delivery/outbox.ts';
import { html, type SafeHTML } from './html.ts';
import { renderBarePage } from './layout.ts';
import { timeElement } from './time.ts';

function renderMessage(message: OutboxMessage): SafeHTML {
  return html`<article class="message">
<h2>${message.subject ?? 'Text message'}</h2>
<dl class="details compact">
<dt>Channel</dt><dd>${message.channel === 'email' ? 'E-mail' : 'SMS'}</dd>
<dt>To</dt><dd class="message-to">${message.to}</dd>
<dt>Time</dt><dd>${timeElement(message.createdAt, 'second')}</dd>
</dl>
<pre class="message-body">${message.body}</pre>
</article>`;
}

export function renderOutboxPage(messages: readonly OutboxMessage[]): string {
  const main = html`<h1>Development outbox</h1>
<p class="hint">E-mails and text messages this server sent while no real provider is configured. This page does not exist in production.</p>
${messages.length === 0 ? html`<p>No messages yet.</p>` : messages.map(renderMessage)}`;
  return renderBarePage('Development outbox', main, { wide: true });
}
