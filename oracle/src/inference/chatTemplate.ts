import { Template } from "@huggingface/jinja";
import { NonRetryableError } from "../errors";

export const CHAT_ROLES = ["system", "user", "assistant"] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** The special tokens Hugging Face passes to a chat template (transformers' SPECIAL_TOKEN_ATTRIBUTES). */
const SPECIAL_TOKEN_KEYS = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"] as const;

/**
 * Turns a conversation into the one prompt string the model reads. Every validator renders the same bytes from the
 * same messages and model folder, so the rendered text is what is hashed, recorded and generated from.
 */
export interface ChatRenderer {
  /** "template" when the folder's tokenizer_config.json has a chat_template, "plain" for the fallback. */
  readonly kind: "template" | "plain";
  render(messages: readonly ChatMessage[]): string;
}

/**
 * A special token from tokenizer_config.json: a string, or an AddedToken object (`{"__type": "AddedToken",
 * "content": ...}` as transformers serializes it); anything else is absent.
 */
function tokenText(value: unknown): string | undefined {
  if (typeof value === "string") return value.length > 0 ? value : undefined;
  if (value && typeof value === "object" && typeof (value as { content?: unknown }).content === "string") {
    return (value as { content: string }).content;
  }
  return undefined;
}

/** The folder's template: a string, or the `default` entry of a list of named templates (as transformers picks it). */
function templateSource(config: Record<string, unknown>): string | undefined {
  const value = config.chat_template;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const named = value.find((t) => (t as { name?: unknown })?.name === "default") as { template?: unknown } | undefined;
    if (typeof named?.template === "string") return named.template;
  }
  return undefined;
}

/**
 * The documented fallback for a model without a chat template: each message on its own line as `Role: content`
 * (System, User, Assistant), then `Assistant:` for the model to continue.
 */
export function renderPlainChat(messages: readonly ChatMessage[]): string {
  const label = (role: ChatRole) => role[0].toUpperCase() + role.slice(1);
  return messages.map((m) => `${label(m.role)}: ${m.content}\n`).join("") + "Assistant:";
}

/**
 * The renderer for a model folder's tokenizer_config.json: its `chat_template` through @huggingface/jinja with
 * `messages`, `add_generation_prompt: true` and the special tokens, as transformers' `apply_chat_template` renders
 * it; the plain fallback when there is no template. A template that does not parse is a NonRetryableError at load.
 */
export function createChatRenderer(tokenizerConfig: Record<string, unknown>): ChatRenderer {
  const source = templateSource(tokenizerConfig);
  if (source === undefined) return { kind: "plain", render: renderPlainChat };
  let template: Template;
  try {
    template = new Template(source);
  } catch (error) {
    throw new NonRetryableError(`the model's chat_template does not parse: ${(error as Error).message}`, { cause: error });
  }
  const specialTokens: Record<string, string> = {};
  for (const key of SPECIAL_TOKEN_KEYS) {
    const text = tokenText(tokenizerConfig[key]);
    if (text !== undefined) specialTokens[key] = text;
  }
  return {
    kind: "template",
    render(messages) {
      try {
        return template.render({
          messages: messages.map((m) => ({ role: m.role, content: m.content })),
          add_generation_prompt: true,
          tools: null,
          documents: null,
          ...specialTokens,
        });
      } catch (error) {
        // Templates reject conversations they do not support (raise_exception), e.g. a system turn or roles out of order.
        throw new NonRetryableError(`the model's chat template rejected the messages: ${(error as Error).message}`, { cause: error });
      }
    },
  };
}
