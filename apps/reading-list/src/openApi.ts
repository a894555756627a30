import { batchPaths } from '@batch/core';
import type { MountedBatch } from './service.js';

const problemSchema = {
  type: 'object',
  description: 'Problem details (RFC 9457).',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { pointer: { type: 'string' }, detail: { type: 'string' } },
        required: ['pointer', 'detail'],
      },
    },
  },
  required: ['title', 'status'],
};

const problem = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers === undefined ? {} : { headers }),
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

const article = (description: string, created = false) => ({
  description,
  headers: {
    ETag: { description: 'The strong ETag of this version.', schema: { type: 'string' } },
    ...(created
      ? { Location: { description: 'The new article.', schema: { type: 'string' } } }
      : {}),
  },
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Article' } } },
});

const jsonBody = (ref: string) => ({
  required: true,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});

const ref = (name: string) => ({ $ref: `#/components/responses/${name}` });

const preconditions = [
  { $ref: '#/components/parameters/IfMatch' },
  { $ref: '#/components/parameters/IfNoneMatch' },
];

/**
 * `GET /openapi.json`: the OpenAPI 3.1 document of the whole reading-list API — the
 * `/articles` routes (bearer auth, problem+json errors) and the batch route the app mounted,
 * with its monitor, from `@batch/core`'s `batchPaths` (its path, `maxRequests` and
 * `formats`, as `serviceInfo` tells them). The same document on every framework.
 */
export function openApiDocument(mounted: MountedBatch = {}) {
  const path = mounted.path ?? '/batch';
  return {
    openapi: '3.1.0',
    info: {
      title: 'Reading list',
      version: '1.0.0',
      description:
        'One reading list per bearer token (the Kinto documentation example), with a ' +
        `\`POST ${path}\` endpoint that runs many of these requests in one (@batch). Each ` +
        "sub-request of a batch inherits the batch's `Authorization`.",
    },
    tags: [
      { name: 'articles', description: 'The reading list of the bearer token.' },
      { name: 'batch', description: 'Many requests in one round trip.' },
    ],
    paths: {
      '/articles': {
        get: {
          operationId: 'listArticles',
          summary: 'List the articles',
          tags: ['articles'],
          security: [{ bearer: [] }],
          responses: {
            '200': {
              description: 'Every article of the reading list, oldest first.',
              content: {
                'application/json': { schema: { $ref: '#/components/schemas/ArticleList' } },
              },
            },
            '401': ref('Unauthorized'),
          },
        },
        post: {
          operationId: 'createArticle',
          summary: 'Add an article',
          tags: ['articles'],
          security: [{ bearer: [] }],
          requestBody: jsonBody('NewArticle'),
          responses: {
            '201': article('Created.', true),
            '400': ref('Invalid'),
            '401': ref('Unauthorized'),
            '507': problem('No article ids are left for this owner.'),
          },
        },
      },
      '/articles/{id}': {
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            description: 'A positive integer; any other segment names no article (`404`).',
            schema: { type: 'integer', minimum: 1 },
          },
        ],
        get: {
          operationId: 'getArticle',
          summary: 'Read an article',
          tags: ['articles'],
          security: [{ bearer: [] }],
          responses: {
            '200': article('The article.'),
            '401': ref('Unauthorized'),
            '404': ref('NotFound'),
          },
        },
        put: {
          operationId: 'replaceArticle',
          summary: 'Replace an article, or create it with this id',
          tags: ['articles'],
          security: [{ bearer: [] }],
          parameters: preconditions,
          requestBody: jsonBody('NewArticle'),
          responses: {
            '200': article('Replaced.'),
            '201': article('Created with this id.', true),
            '400': ref('Invalid'),
            '401': ref('Unauthorized'),
            '412': ref('PreconditionFailed'),
          },
        },
        patch: {
          operationId: 'updateArticle',
          summary: 'Change some fields of an article',
          tags: ['articles'],
          security: [{ bearer: [] }],
          parameters: preconditions,
          requestBody: jsonBody('ArticlePatch'),
          responses: {
            '200': article('Changed.'),
            '400': ref('Invalid'),
            '401': ref('Unauthorized'),
            '404': ref('NotFound'),
            '412': ref('PreconditionFailed'),
          },
        },
        delete: {
          operationId: 'deleteArticle',
          summary: 'Delete an article',
          tags: ['articles'],
          security: [{ bearer: [] }],
          parameters: preconditions,
          responses: {
            '200': {
              description: 'Deleted: the article as it was.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Article' } } },
            },
            '401': ref('Unauthorized'),
            '404': ref('NotFound'),
            '412': ref('PreconditionFailed'),
          },
        },
      },
      ...batchPaths(path, {
        maxRequests: mounted.maxRequests,
        formats: mounted.formats,
        tags: ['batch'],
      }),
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'Any token: it names the owner of a reading list.',
        },
      },
      parameters: {
        IfMatch: {
          name: 'If-Match',
          in: 'header',
          description: 'Write only if the article is at one of these ETags (`*`: exists).',
          schema: { type: 'string' },
        },
        IfNoneMatch: {
          name: 'If-None-Match',
          in: 'header',
          description: 'Write only if the article is at none of these ETags (`*`: does not exist).',
          schema: { type: 'string' },
        },
      },
      schemas: {
        Article: {
          type: 'object',
          properties: {
            id: { type: 'integer', minimum: 1 },
            title: { type: 'string' },
            url: { type: 'string' },
            read_position: { type: 'integer', minimum: 0 },
            last_modified: {
              type: 'integer',
              description: 'Milliseconds since the epoch of the last change; strictly increasing.',
            },
          },
          required: ['id', 'title', 'url', 'read_position', 'last_modified'],
        },
        NewArticle: {
          type: 'object',
          properties: {
            title: { type: 'string', minLength: 1 },
            url: { type: 'string', minLength: 1 },
            read_position: { type: 'integer', minimum: 0, default: 0 },
          },
          required: ['title', 'url'],
          additionalProperties: false,
        },
        ArticlePatch: {
          type: 'object',
          properties: {
            title: { type: 'string', minLength: 1 },
            url: { type: 'string', minLength: 1 },
            read_position: { type: 'integer', minimum: 0 },
          },
          additionalProperties: false,
        },
        ArticleList: {
          type: 'object',
          properties: { data: { type: 'array', items: { $ref: '#/components/schemas/Article' } } },
          required: ['data'],
        },
        Problem: problemSchema,
      },
      responses: {
        Unauthorized: problem('No `Authorization: Bearer <token>`.', {
          'WWW-Authenticate': { schema: { type: 'string', const: 'Bearer' } },
        }),
        NotFound: problem('No such article.'),
        Invalid: problem('The body is not a valid article: `errors` names each member.'),
        PreconditionFailed: problem('`If-Match` or `If-None-Match` does not hold.'),
      },
    },
  };
}
