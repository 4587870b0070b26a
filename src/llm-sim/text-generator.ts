/**
 * Deterministic output text. In `random` mode a completion is a sequence of pieces, each exactly
 * one token: a word (with its leading space) from a vocabulary of single-token words, or a `.` or
 * `,` after a word. Re-encoding any prefix of the pieces gives one token per piece, so the text a
 * client received counts to the tokens it was sent (the test checks this over many seeds). In
 * `echo` mode the pieces are the tokens of the last message, decoded one by one.
 */
import { countTokens, decodeTokens, encodeText } from './tokenizer.js';
import { hashSeed, seededRandom, type Random } from './random.js';

const WORDS = `the of and to in is that for it as was with be by on not he this are or his from at
which but have an they you were her she there been one all we their has would when if so no will
more can out up who them some into time only its also new two may first then do any like my now over
such our man me even most made after many before must through back years where much your way well
down should because each just those people how too little state good very make world still own see
men work long get here between both life being under never day same another know while last might us
great old year off come since against go came right used take three states himself few house use
during without again place around however home small found thought went say part once general high
upon school every united left number course war until always away something fact though water less
public put think almost hand enough far took head yet government system better set told nothing night
end why called eyes find going look asked later knew point next program city business give group
toward young days let room president side social given present several order national second possible
rather per face among form important often things looking early white case large become felt children
big need four within area member`.split(/\s+/);

let vocabulary: string[] | undefined;

/** The words that are one token both alone and after a space (checked once, at first use). */
function singleTokenWords(): string[] {
  vocabulary ??= WORDS.filter((w) => w && countTokens(w) === 1 && countTokens(` ${w}`) === 1);
  return vocabulary;
}

/** Where generation comes from: invented words, or the prompt's last message echoed back. */
export type GenerationMode = 'random' | 'echo';

/** What to generate. */
export interface GenerationRequest {
  /** The server's `--seed`. */
  seed: number;
  /** The rendered prompt text: with the seed, it fixes the output. */
  prompt: string;
  /** The text echo mode repeats (the last message's text). */
  echoText: string;
  mode: GenerationMode;
  /** The model's natural length range in tokens (random mode), inclusive. */
  outputTokens: { min: number; max: number };
  /** The request's limit (max_tokens); the natural length beyond it ends with `length`. */
  maxTokens: number;
  /** Stop sequences: the text ends before the first one. */
  stop: string[];
}

/** A generated completion. */
export interface Generation {
  /** One entry per generated token: what a stream sends for it ('' when a stop cut it away). */
  pieces: string[];
  /** The text as sent: the pieces joined. */
  text: string;
  /** OpenAI's finish_reason: `stop`, `length` (max_tokens) or `tool_calls` (a call's arguments). */
  finishReason: 'stop' | 'length' | 'tool_calls';
  /** The stop sequence that ended it, if one did. */
  stopSequence: string | null;
}

/** The deterministic completion for a request: same seed, prompt and limits → same pieces. */
export function generate(req: GenerationRequest): Generation {
  const random = seededRandom(hashSeed(req.seed, req.prompt));
  let natural: string[];
  if (req.mode === 'echo') {
    natural = encodeText(req.echoText).map((t) => decodeTokens([t]));
  } else {
    const { min, max } = req.outputTokens;
    const length = min + Math.floor(random() * (max - min + 1));
    natural = randomPieces(random, length);
  }
  const limited = natural.length > req.maxTokens;
  const pieces = limited ? natural.slice(0, req.maxTokens) : natural;
  const stopped = applyStop(pieces, req.stop);
  if (stopped) return { ...stopped, text: stopped.pieces.join(''), finishReason: 'stop' };
  return {
    pieces,
    text: pieces.join(''),
    finishReason: limited ? 'length' : 'stop',
    stopSequence: null,
  };
}

/** One word of the vocabulary (single-token words), drawn with `random`. */
export function randomWord(random: Random): string {
  const words = singleTokenWords();
  return words[Math.floor(random() * words.length)]!;
}

/** `length` one-token pieces: words, now and then a `.` or `,` (never two marks in a row). */
function randomPieces(random: Random, length: number): string[] {
  const words = singleTokenWords();
  const pieces: string[] = [];
  let afterWord = false;
  while (pieces.length < length) {
    if (afterWord && random() < 0.12) {
      pieces.push(random() < 0.6 ? '.' : ',');
      afterWord = false;
      continue;
    }
    const word = words[Math.floor(random() * words.length)]!;
    pieces.push(pieces.length === 0 ? word : ` ${word}`);
    afterWord = true;
  }
  return pieces;
}

/**
 * Cuts the pieces before the first stop sequence. The token in which the stop completes was
 * generated (and is counted, as OpenAI bills it), but only its text before the stop is sent.
 */
function applyStop(
  pieces: string[],
  stops: string[],
): { pieces: string[]; stopSequence: string } | undefined {
  const active = stops.filter((s) => s.length > 0);
  if (active.length === 0) return undefined;
  let text = '';
  for (let i = 0; i < pieces.length; i++) {
    const before = text.length;
    text += pieces[i];
    let best: { at: number; stop: string } | undefined;
    for (const stop of active) {
      const at = text.indexOf(stop, Math.max(0, before - stop.length + 1));
      if (at >= 0 && (!best || at < best.at)) best = { at, stop };
    }
    if (best) {
      const kept = pieces.slice(0, i);
      kept.push(text.slice(before > best.at ? best.at : before, best.at));
      // A stop that began inside an earlier piece trims that piece too.
      if (best.at < before) {
        let cut = before;
        for (let j = i - 1; j >= 0 && cut > best.at; j--) {
          const start = cut - pieces[j]!.length;
          kept[j] = start >= best.at ? '' : pieces[j]!.slice(0, best.at - start);
          cut = start;
        }
        kept[i] = '';
      }
      return { pieces: kept, stopSequence: best.stop };
    }
  }
  return undefined;
}
