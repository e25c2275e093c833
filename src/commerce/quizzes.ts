import { z } from 'zod';
import type { Product } from './product-schema.ts';

/**
 * One question of an in-email quiz or poll. Each option names the catalog tags that make a
 * product a good answer to it, so the same definition validates the answers (zero-party data
 * is only worth keeping when it uses known values) and ranks the products.
 */
export interface QuizQuestion {
  multiple: boolean;
  required: boolean;
  options: Readonly<Record<string, readonly string[]>>;
  /** Points a product earns per matching option: the primary question outweighs the others. */
  weight: number;
}

export interface QuizDefinition {
  /** The template whose AMP part asks these questions; its token is what allows the answers. */
  template: string;
  questions: Readonly<Record<string, QuizQuestion>>;
}

/**
 * Quizzes by template. The AMP markup in templates/<name>/email.amp.hbs offers exactly these
 * values (test/amp checks that the rendered inputs and this definition agree).
 */
export const QUIZZES: ReadonlyMap<string, QuizDefinition> = new Map([
  [
    'skin-quiz',
    {
      template: 'skin-quiz',
      questions: {
        skinType: {
          multiple: false,
          required: true,
          weight: 2,
          options: {
            dry: ['dry', 'hydrating'],
            oily: ['oily', 'mattifying'],
            combination: ['combination', 'balancing'],
            normal: ['normal'],
          },
        },
        concerns: {
          multiple: true,
          required: false,
          weight: 1,
          options: {
            dullness: ['dullness', 'brightening'],
            'fine-lines': ['fine-lines', 'retinol'],
            sensitivity: ['sensitive'],
            dehydration: ['hydrating'],
            blemishes: ['blemishes', 'clarifying'],
          },
        },
      },
    },
  ],
]);

export type QuizAnswers = Record<string, string | string[]>;

/** The zod schema for a quiz's answers as form fields: one value per single-choice question, a list per multiple-choice one. */
export function quizAnswersSchema(quiz: QuizDefinition): z.ZodType<QuizAnswers> {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, q] of Object.entries(quiz.questions)) {
    const values = Object.keys(q.options) as [string, ...string[]];
    const choice = z.enum(values, { message: `choose one of: ${values.join(', ')}` });
    if (q.multiple) {
      const list = z.array(choice).max(values.length).refine((a) => new Set(a).size === a.length, 'each answer once');
      shape[name] = q.required ? list.min(1, 'choose at least one') : list.default([]);
    } else {
      shape[name] = q.required ? choice : choice.optional();
    }
  }
  return z.object(shape) as unknown as z.ZodType<QuizAnswers>;
}

/** How well a product answers the quiz: the weights of the chosen options whose tags it carries. */
export function quizScore(quiz: QuizDefinition, answers: QuizAnswers, product: Product): number {
  const tags = new Set(product.tags);
  let score = 0;
  for (const [name, q] of Object.entries(quiz.questions)) {
    const chosen = answers[name];
    for (const option of typeof chosen === 'string' ? [chosen] : (chosen ?? [])) {
      if ((q.options[option] ?? []).some((tag) => tags.has(tag))) score += q.weight;
    }
  }
  return score;
}
