import { describe, expect, it } from "vitest";
import { describeStoreUrl, withoutPassword } from "./storeUrl.ts";

describe("a store URL as it may be shown", () => {
  it.each([
    ["postgres://u:secret@h:5432/db", "postgres://u:***@h:5432/db"],
    ["postgresql://u:s%2Fecret@h/db?sslmode=require", "postgresql://u:***@h/db?sslmode=require"],
    ["postgres://u@h/db", "postgres://u@h/db"],
    ["postgres://h/db", "postgres://h/db"],
    ["postgres://u:@h/db", "postgres://u:***@h/db"],
    // An unencoded @ in the password: the last @ ends it, as for the parser.
    ["postgres://u:pa@ss@h/db", "postgres://u:***@h/db"],
    // The password as a parameter, in any case, before or after others, with & or # in it.
    ["postgres://u@h/db?password=secret", "postgres://u@h/db?password=***"],
    ["postgres://u@h/db?sslmode=disable&PASSWORD=secret&application_name=x", "postgres://u@h/db?sslmode=disable&PASSWORD=***&application_name=x"],
    ["postgres://u@h/db?password=sec#ret", "postgres://u@h/db?password=***"],
    ["postgres:///db?host=/var/run/postgresql", "postgres:///db?host=/var/run/postgresql"],
    // The parameter's name percent-encoded: the driver decodes it, and so does the redaction.
    ["postgres://u@h/db?%70assword=secret", "postgres://u@h/db?%70assword=***"],
    ["postgres://u@h/db?sslmode=disable&pass%77ord=secret", "postgres://u@h/db?sslmode=disable&pass%77ord=***"],
    // An @ in a parameter or the fragment is no part of the user and password.
    ["postgres://u:secret@h/db?application_name=ops@box", "postgres://u:***@h/db?application_name=ops@box"],
    ["postgres://h/db?application_name=me@box", "postgres://h/db?application_name=me@box"],
    ["postgres://u:secret@h/db?sslrootcert=/home/a@corp/ca.pem", "postgres://u:***@h/db?sslrootcert=/home/a@corp/ca.pem"],
    ["postgres://h/db?password=a@secret", "postgres://h/db?password=***"],
  ])("%s shows as %s", (url, shown) => {
    expect(describeStoreUrl(url)).toEqual({ shown, misparsed: false });
    expect(withoutPassword(url)).toBe(shown);
  });

  it.each([
    // An unencoded / # ? in the password ends the authority early: the parser sees another host (or none).
    "postgres://u:pa/ss@h/db",
    "postgres://u:12/secret@h/db",
    "postgres://u:pa#ss@h/db",
    "postgres://u:pa?ss@h/db",
    "postgres://u:1234/5@localhost/db",
    // An unencoded @ and / in the password, with an @ in a parameter too.
    "postgres://u:a@b/c@h/db?application_name=x@y",
  ])("%s is misparsed, and shows nothing of the password", (url) => {
    const described = describeStoreUrl(url);
    expect(described.misparsed).toBe(true);
    expect(described.shown).toMatch(/^postgres:\/\/\*\*\*$/);
  });
});
