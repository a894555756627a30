// `express4` is Express 4 installed under an alias for the tests; its API is typed as Express's.
declare module 'express4' {
  import express from 'express';
  export default express;
}
