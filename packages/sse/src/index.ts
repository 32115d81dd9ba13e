export {
  createServerSentEventParser,
  defaultMaxLineLength,
  ServerSentEventTooLongError,
  type ServerSentEvent,
  type ServerSentEventParser,
  type ServerSentEventParserOptions,
} from "./parser.ts";
