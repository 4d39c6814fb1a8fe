// The conversation view: message bubbles, the assistant's reply streaming into the last one, and
// the history sent with each turn (the worker keeps the KV cache of earlier turns, so a follow-up
// prefills only what is new).

const $ = (id) => document.getElementById(id);

export class Chat {
  constructor(call) {
    this.call = call; // one request to the worker
    this.history = []; // [{role, content}] of finished turns
    this.onToken = () => {};
  }

  clear() {
    this.history = [];
    $('messages').replaceChildren($('empty-chat'));
    $('empty-chat').hidden = false;
    $('rate').textContent = '';
  }

  bubble(role, text) {
    $('empty-chat').hidden = true;
    const div = document.createElement('div');
    div.className = `msg ${role}`;
    div.textContent = text;
    $('messages').append(div);
    div.scrollIntoView({ block: 'end' });
    return div;
  }

  // Sends one turn. `options` may hold prompt_ids (the test contract) or prompt; with the chat
  // template on, a prompt becomes the next user message of the conversation.
  async send(options, shown) {
    const chat = options.chat && options.prompt !== undefined;
    if (chat) {
      options = { ...options, messages: [...this.history, { role: 'user', content: options.prompt }] };
      delete options.prompt;
    }
    this.bubble('user', shown);
    const reply = this.bubble('assistant', '');
    reply.classList.add('streaming');
    const ids = [];
    this.onToken = (id, piece) => {
      ids.push(id);
      reply.textContent += piece;
      reply.scrollIntoView({ block: 'end' });
    };
    $('generate').disabled = true;
    $('stop').disabled = false;
    try {
      const r = await this.call('generate', { options });
      // a model without a tokenizer streams ids only
      if (!reply.textContent) reply.textContent = r.text || `token ids ${ids.join(', ')}`;
      if (chat) this.history.push(options.messages.at(-1), { role: 'assistant', content: r.text });
      const meta = document.createElement('span');
      meta.className = 'meta';
      meta.textContent = `${r.tokens.length} tokens · ${r.decode_tok_s.toFixed(1)} tok/s` +
        (r.cancelled ? ' · stopped' : '') + (r.context_full ? ' · the context is full: start a new chat' : '');
      reply.append(meta);
      $('rate').textContent = `Prompt: ${r.prompt_tokens} tokens` +
        (r.reused_tokens ? ` (${r.reused_tokens} reused from the previous turn)` : '') +
        ` at ${r.prefill_tok_s.toFixed(1)} tok/s · reply: ${r.tokens.length} tokens at ${r.decode_tok_s.toFixed(1)} tok/s` +
        ` on ${r.adapter || 'WebGPU'} (${r.backend})`;
      return r;
    } catch (e) {
      reply.textContent = String(e.message || e);
      reply.classList.add('error');
      throw e;
    } finally {
      reply.classList.remove('streaming');
      $('generate').disabled = false;
      $('stop').disabled = true;
    }
  }
}
