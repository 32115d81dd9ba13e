import { sessionsPerPage } from "./chain/finalRows.ts";

/**
 * Buttons to the newer and older pages of a list of `count` sessions shown {@link sessionsPerPage}
 * a page, newest first, with the range shown ("21–40 of 42, newest first"); nothing when one page
 * holds them all.
 */
export function Pager(props: { count: number; page: number; onPage: (page: number) => void; rangeTestId: string }) {
  const first = props.page * sessionsPerPage;
  const last = Math.min(first + sessionsPerPage, props.count);
  if (props.count <= sessionsPerPage) return null;
  return (
    <div className="pager">
      <button className="secondary" disabled={props.page === 0} onClick={() => props.onPage(props.page - 1)}>
        Newer
      </button>
      <span className="muted" data-testid={props.rangeTestId}>
        {first + 1}–{last} of {props.count}, newest first
      </span>
      <button className="secondary" disabled={last >= props.count} onClick={() => props.onPage(props.page + 1)}>
        Older
      </button>
    </div>
  );
}
