// Text placed into roost's own HTML. The sandbox keeps its own copy on purpose:
// it stands in for Twitter and shares no code with roost.
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
