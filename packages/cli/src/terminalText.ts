/**
 * Terminal control in text the CLI did not write (a host's answers, recovered text, refusals): a
 * whole escape sequence (CSI `ESC [ … final`, OSC `ESC ] … BEL|ST`, DCS/SOS/PM/APC `ESC P|X|^|_ … ST`,
 * or a two-character `ESC x`), else any one C0 character but newline and tab, DEL, or C1 character.
 * Each alternative stops at the next ESC, so a hostile string cannot make the scan quadratic.
 */
// eslint-disable-next-line no-control-regex -- control characters are what this matches
const terminalControl = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|[ -/]*[0-~])|[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/**
 * `text` with every terminal control sequence removed, so that what a host sends can neither clear
 * the screen, move the cursor over the CLI's own lines, nor write the clipboard (OSC 52). Safe on
 * text split anywhere (a stream's deltas): a sequence cut in two loses its control characters, and
 * what is left prints as plain characters.
 */
export function plainText(text: string): string {
  return text.replace(terminalControl, "");
}
