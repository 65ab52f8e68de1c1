/** The demo world: categories, scene generator, seeded splits and their COCO panoptic files. */
export * from './world';
export * from './dataset';
