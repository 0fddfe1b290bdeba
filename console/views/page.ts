/** What every page gets and gives: the route, a way to redraw itself, and a template. */
import type { TemplateResult } from 'lit-html';
import type { Route } from '../router.js';

export interface PageContext {
  readonly route: Route;
  /** Loads and draws the page again (after a write). */
  readonly reload: () => void;
  /** Remembers the patient and care plan the user works on, for the navigation. */
  readonly remember: (focus: { patient?: string; carePlan?: string }) => void;
}

export type Page = (context: PageContext) => Promise<TemplateResult>;
