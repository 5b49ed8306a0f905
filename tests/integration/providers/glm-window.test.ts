/**
 * GLM-4.7's context window is the figure the API enforces and states in its overflow message,
 * "Request N input tokens exceeds the model's maximum context length 202750" (code 1210, as users
 * quoted it; docs/providers.md [Z1]), not the 204,800 troupe read into the docs' "200K" until
 * 2026-12-07: the pre-flight check refuses what the vendor would, and the overflow error names the
 * vendor's own figure. Other ids are not blocked by the catalogue (it informs). Over real HTTP
 * against the local server in GLM mode.
 */
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../../src/providers/port.js';
import { chatBodies, run, useVendorRigs } from '../../support/vendor-rig.js';

const KEY = 'sk-glm-window-0123456789abcdef';
const rig = useVendorRigs(KEY);
const user = (content: string): ChatMessage => ({ role: 'user', content });
// About 203,500 tokens by the estimate rule (4 ASCII characters a token): over 202,750, under 204,800.
const BETWEEN = 'x'.repeat(814_000);

describe('glm-4.7: the window the API enforces', () => {
  it('refuses before sending a prompt over 202,750 tokens that the old 204,800 let through', async () => {
    const r = await rig('glm');
    // Refused at submit: nothing is queued or sent.
    await expect(
      run(r, { provider: 'glm', model: 'glm-4.7', messages: [user(BETWEEN)] }),
    ).rejects.toMatchObject({
      code: 'CONTEXT_TOO_LONG',
      message: expect.stringMatching(
        /^Expected at most 202750 tokens for model glm-4\.7, got an estimated 2035\d\d prompt/,
      ),
    });
    // The same prompt to glm-4.6, whose catalogue window is still 204,800, goes out.
    const other = await run(r, { provider: 'glm', model: 'glm-4.6', messages: [user(BETWEEN)] });
    expect(other.ok).toBe(true);
    expect(chatBodies(r).map((b) => b.model)).toEqual(['glm-4.6']);
  });

  it("names the vendor's own figure when the API refuses an overflow (1210)", async () => {
    const r = await rig('glm');
    const result = await run(r, {
      provider: 'glm',
      model: 'glm-4.7',
      messages: [user('vendor-error:glm.overflow')],
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('CONTEXT_TOO_LONG');
    expect(result.error.message).toMatch(/202750 tokens \(`glm-4\.7`\)/);
  });

  it('informs, does not block: a model the catalogue lacks goes to the vendor, whatever the prompt', async () => {
    const r = await rig('glm');
    const result = await run(r, { provider: 'glm', model: 'glm-4.9-unlisted', messages: [user(BETWEEN)] });
    expect(result.ok).toBe(true);
    expect(chatBodies(r)).toHaveLength(1);
  });
});
