import type { HostInfo } from "@session-jobs/sdk";
import { useState } from "react";
import type { Asset } from "../format.ts";
import { HostCard } from "./HostCard.tsx";

/** How many hosts the list shows at first, and how many more each "Show more" adds. */
export const hostsPerPage = 20;

/**
 * The hosts to choose from, the first {@link hostsPerPage} then more on request: only a shown
 * card asks its host for health and policy, so a registry that anyone can fill with hosts never
 * makes the page ask all of them.
 */
export function HostList(props: { hosts: HostInfo[]; asset: Asset; selected: string | undefined; onSelect: (address: string) => void }) {
  const [shown, setShown] = useState(hostsPerPage);
  const hidden = props.hosts.length - shown;
  return (
    <>
      <div className="host-list">
        {props.hosts.slice(0, shown).map((candidate) => (
          <HostCard
            key={candidate.address}
            host={candidate}
            asset={props.asset}
            selected={candidate.address === props.selected}
            onSelect={() => props.onSelect(candidate.address)}
          />
        ))}
      </div>
      {hidden > 0 && (
        <button type="button" className="link" onClick={() => setShown(shown + hostsPerPage)}>
          Show more hosts ({hidden} not shown)
        </button>
      )}
    </>
  );
}
