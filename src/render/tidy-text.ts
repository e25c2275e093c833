/** Header-safe: a subject is one line however the data is shaped. */
export function oneLine(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ').replace(/\s{2,}/g, ' ').trim();
}

/** Collapses the blank lines that block helpers leave behind in text templates. */
export function tidyText(s: string): string {
  return `${s.replace(/[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim()}\n`;
}
