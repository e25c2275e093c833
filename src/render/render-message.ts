/** The render core's entry point and its types (the steps: pipeline.ts). */
export { renderMessage } from './pipeline.ts';
export {
  CohortEmail,
  emailParts,
  UnknownTemplateError,
  UnknownVariantError,
  type EmailFill,
  type EmailParts,
  type EmailRender,
  type EmailSuppressed,
  type RenderDeps,
  type RenderResult,
  type ServiceRenderResult,
  type UnsubscribeHeaders,
} from './render-result.ts';
