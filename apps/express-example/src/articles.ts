import {
  type ArticleStore,
  etagOf,
  ownerOf,
  PROBLEM_TYPE,
  parseArticleId,
  UNAUTHORIZED,
  type WriteResult,
} from '@batch/reading-list';
import { type Request, type Response, Router } from 'express';
import { sendProblem } from './problems.js';

/** The bearer token the auth middleware put in `res.locals`. */
const owner = (res: Response): string => res.locals.owner;

const preconditions = (req: Request) => ({
  ifMatch: req.get('if-match'),
  ifNoneMatch: req.get('if-none-match'),
});

/** Answers a store write: the article (201 + `Location` when created), or its problem. */
function sendWrite(req: Request, res: Response, result: WriteResult): void {
  if (!result.ok) {
    sendProblem(res, result.status, result.detail, result.errors);
    return;
  }
  const { article, created } = result;
  if (created) res.status(201).location(`${req.baseUrl}/${article.id}`);
  if (req.method !== 'DELETE') res.set('ETag', etagOf(article));
  res.json(article);
}

/** `/articles`: one reading list per bearer token. */
export function articlesRouter(store: ArticleStore): Router {
  const router = Router();

  // Every route here needs `Authorization: Bearer <token>`; the token names the owner.
  router.use((req, res, next) => {
    const token = ownerOf(req.get('authorization'));
    if (token === undefined) {
      res.status(401).set('WWW-Authenticate', 'Bearer').type(PROBLEM_TYPE).json(UNAUTHORIZED);
      return;
    }
    res.locals.owner = token;
    next();
  });

  // Ids are positive integers; any other `:id` names no article.
  router.param('id', (_req, res, next, value: string) => {
    if (parseArticleId(value) !== undefined) next();
    else sendProblem(res, 404, `article ${value} not found`);
  });

  router
    .route('/')
    .get(async (_req, res) => {
      res.json({ data: await store.list(owner(res)) });
    })
    .post(async (req, res) => {
      sendWrite(req, res, await store.create(owner(res), req.body));
    });

  router
    .route('/:id')
    .get(async (req, res) => {
      const article = await store.get(owner(res), Number(req.params.id));
      if (article) res.set('ETag', etagOf(article)).json(article);
      else sendProblem(res, 404, `article ${req.params.id} not found`);
    })
    .put(async (req, res) => {
      const id = Number(req.params.id);
      sendWrite(req, res, await store.replace(owner(res), id, req.body, preconditions(req)));
    })
    .patch(async (req, res) => {
      const id = Number(req.params.id);
      sendWrite(req, res, await store.patch(owner(res), id, req.body, preconditions(req)));
    })
    .delete(async (req, res) => {
      const id = Number(req.params.id);
      sendWrite(req, res, await store.remove(owner(res), id, preconditions(req)));
    });

  return router;
}
