/**
 * libevent's `EVUTIL_EAI_*` getaddrinfo error codes and `evutil_gai_strerror`.
 *
 * libevent's evutil.h defines portable fallback values (EVUTIL_EAI_ADDRFAMILY
 * -9901 ... EVUTIL_EAI_SYSTEM -9911, EVUTIL_EAI_CANCEL -90001), but whenever the
 * system headers provide the matching `EAI_*` macro it uses the system value
 * instead (`#ifdef EAI_NONAME / #define EVUTIL_EAI_NONAME EAI_NONAME`).  On Linux
 * every one of them exists in glibc's <netdb.h>, so a libevent built there
 * reports the glibc numbers.  We do the same: the exported constants below are
 * the glibc values.  EVUTIL_EAI_CANCEL has no system counterpart and therefore
 * keeps libevent's own value, -90001.
 */

/** glibc EAI_ADDRFAMILY (libevent fallback: -9901). */
export const EVUTIL_EAI_ADDRFAMILY = -9;
/** glibc EAI_AGAIN (libevent fallback: -9902). */
export const EVUTIL_EAI_AGAIN = -3;
/** glibc EAI_BADFLAGS (libevent fallback: -9903). */
export const EVUTIL_EAI_BADFLAGS = -1;
/** glibc EAI_FAIL (libevent fallback: -9904). */
export const EVUTIL_EAI_FAIL = -4;
/** glibc EAI_FAMILY (libevent fallback: -9905). */
export const EVUTIL_EAI_FAMILY = -6;
/** glibc EAI_MEMORY (libevent fallback: -9906). */
export const EVUTIL_EAI_MEMORY = -10;
/** glibc EAI_NODATA (libevent fallback: -9907). */
export const EVUTIL_EAI_NODATA = -5;
/** glibc EAI_NONAME (libevent fallback: -9908). */
export const EVUTIL_EAI_NONAME = -2;
/** glibc EAI_SERVICE (libevent fallback: -9909). */
export const EVUTIL_EAI_SERVICE = -8;
/** glibc EAI_SOCKTYPE (libevent fallback: -9910). */
export const EVUTIL_EAI_SOCKTYPE = -7;
/** glibc EAI_SYSTEM (libevent fallback: -9911). */
export const EVUTIL_EAI_SYSTEM = -11;
/** libevent's own code; no system equivalent exists, so it is -90001 everywhere. */
export const EVUTIL_EAI_CANCEL = -90001;

/**
 * The values libevent uses on platforms whose <netdb.h> lacks the EAI_* macro.
 * Not used by this port (we follow Linux/glibc); kept for reference and for
 * code that wants to recognise them.
 */
export const EVUTIL_EAI_PORTABLE_VALUES = Object.freeze({
  ADDRFAMILY: -9901,
  AGAIN: -9902,
  BADFLAGS: -9903,
  FAIL: -9904,
  FAMILY: -9905,
  MEMORY: -9906,
  NODATA: -9907,
  NONAME: -9908,
  SERVICE: -9909,
  SOCKTYPE: -9910,
  SYSTEM: -9911,
  CANCEL: -90001,
});

/** glibc's gai_strerror() messages, keyed by glibc EAI_* value. */
const GLIBC_GAI_MESSAGES: ReadonlyMap<number, string> = new Map<number, string>([
  [-1, 'Bad value for ai_flags'], // EAI_BADFLAGS
  [-2, 'Name or service not known'], // EAI_NONAME
  [-3, 'Temporary failure in name resolution'], // EAI_AGAIN
  [-4, 'Non-recoverable failure in name resolution'], // EAI_FAIL
  [-5, 'No address associated with hostname'], // EAI_NODATA
  [-6, 'ai_family not supported'], // EAI_FAMILY
  [-7, 'ai_socktype not supported'], // EAI_SOCKTYPE
  [-8, 'Servname not supported for ai_socktype'], // EAI_SERVICE
  [-9, 'Address family for hostname not supported'], // EAI_ADDRFAMILY
  [-10, 'Memory allocation failure'], // EAI_MEMORY
  [-11, 'System error'], // EAI_SYSTEM
  [-12, 'Argument buffer too small'], // EAI_OVERFLOW
  [-100, 'Processing request in progress'], // EAI_INPROGRESS
  [-101, 'Request canceled'], // EAI_CANCELED
  [-102, 'Request not canceled'], // EAI_NOTCANCELED
  [-103, 'All requests done'], // EAI_ALLDONE
  [-104, 'Interrupted by a signal'], // EAI_INTR
  [-105, 'Parameter string not correctly encoded'], // EAI_IDN_ENCODE
]);

/**
 * Port of `evutil_gai_strerror()`: libevent answers EVUTIL_EAI_CANCEL itself
 * ("Request canceled") and defers everything else to the system's
 * gai_strerror(), whose glibc texts are reproduced here.  Codes glibc does not
 * know yield "Unknown error", as glibc does.
 */
export function evutil_gai_strerror(code: number): string {
  if (code === EVUTIL_EAI_CANCEL) return 'Request canceled';
  return GLIBC_GAI_MESSAGES.get(code) ?? 'Unknown error';
}

const EAI_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [EVUTIL_EAI_ADDRFAMILY, 'EAI_ADDRFAMILY'],
  [EVUTIL_EAI_AGAIN, 'EAI_AGAIN'],
  [EVUTIL_EAI_BADFLAGS, 'EAI_BADFLAGS'],
  [EVUTIL_EAI_FAIL, 'EAI_FAIL'],
  [EVUTIL_EAI_FAMILY, 'EAI_FAMILY'],
  [EVUTIL_EAI_MEMORY, 'EAI_MEMORY'],
  [EVUTIL_EAI_NODATA, 'EAI_NODATA'],
  [EVUTIL_EAI_NONAME, 'EAI_NONAME'],
  [EVUTIL_EAI_SERVICE, 'EAI_SERVICE'],
  [EVUTIL_EAI_SOCKTYPE, 'EAI_SOCKTYPE'],
  [EVUTIL_EAI_SYSTEM, 'EAI_SYSTEM'],
  [EVUTIL_EAI_CANCEL, 'EAI_CANCEL'],
]);

/** The EAI_* name of an EVUTIL_EAI_* code ('EAI_NONAME'), or 'EAI_UNKNOWN'. */
export function eaiName(code: number): string {
  return EAI_NAMES.get(code) ?? 'EAI_UNKNOWN';
}
